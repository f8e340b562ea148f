import { derivedTstamp, enrich, enrichEvent, EnrichmentError, ETL_VERSION, iglu, sdkFieldName, selfDescribingJsons, userAgentFields, type CollectorMeta } from '../../src/snowplow/enrich';
import type { TrackerParams } from '../../src/snowplow/tp2';

const COLLECTED = Date.parse('2024-03-01T12:00:10.000Z');
const ETL = Date.parse('2024-03-01T12:00:11.000Z');
const meta: CollectorMeta = { collectorTstamp: COLLECTED, collector: 'beltline-test', ipAddress: '203.0.113.9' };
const run = (p: TrackerParams, m: Partial<CollectorMeta> = {}) => enrich(p, { ...meta, ...m }, { etlTstamp: ETL });

const UE = 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0';
const CONTEXTS = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1';
const ue = (schema: string, data: unknown) => ({ schema: UE, data: { schema, data } });
const ctx = (...items: { schema: string; data: unknown }[]) => ({ schema: CONTEXTS, data: items });

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
/** base64url without a partial last group: the JSON padded with spaces to a multiple of 3 bytes. */
function wholeBase64(v: unknown): string {
  let s = JSON.stringify(v);
  while (Buffer.byteLength(s) % 3) s += ' ';
  return Buffer.from(s).toString('base64url');
}

/** The field and message of the EnrichmentError a call throws. */
function failure(fn: () => unknown): { field: string; message: string } | string {
  try {
    fn();
  } catch (err) {
    return err instanceof EnrichmentError ? { field: err.field, message: err.message } : `not an EnrichmentError: ${String(err)}`;
  }
  return 'no error';
}
const fieldOf = (p: TrackerParams) => {
  const f = failure(() => run(p));
  return typeof f === 'string' ? f : f.field;
};

describe('enrich: the event as the Analytics SDK shapes it', () => {
  it('turns a page view into the SDK fields, leaving out those without a value', () => {
    const e = run({
      e: 'pv',
      eid: 'a0c4fd1e-0000-4000-8000-000000000001',
      aid: 'shop',
      p: 'web',
      tv: 'js-4.0.0',
      tna: 'sp',
      uid: 'alice',
      duid: 'd-1',
      sid: 's-1',
      vid: '7',
      url: 'https://shop.example/cart/checkout?step=2&x=%20y#pay',
      page: 'Checkout',
      refr: 'http://search.example:8080/q?s=shoes',
      dtm: String(COLLECTED - 2000),
      stm: String(COLLECTED - 500),
    });
    expect(e).toEqual({
      app_id: 'shop',
      platform: 'web',
      etl_tstamp: '2024-03-01T12:00:11.000Z',
      collector_tstamp: '2024-03-01T12:00:10.000Z',
      dvce_created_tstamp: '2024-03-01T12:00:08.000Z',
      dvce_sent_tstamp: '2024-03-01T12:00:09.500Z',
      derived_tstamp: '2024-03-01T12:00:08.500Z',
      event: 'page_view',
      event_id: 'a0c4fd1e-0000-4000-8000-000000000001',
      event_vendor: 'com.snowplowanalytics.snowplow',
      event_name: 'page_view',
      event_format: 'jsonschema',
      event_version: '1-0-0',
      name_tracker: 'sp',
      v_tracker: 'js-4.0.0',
      v_collector: 'beltline-test',
      v_etl: ETL_VERSION,
      user_id: 'alice',
      user_ipaddress: '203.0.113.9',
      domain_userid: 'd-1',
      domain_sessionid: 's-1',
      domain_sessionidx: 7,
      page_url: 'https://shop.example/cart/checkout?step=2&x=%20y#pay',
      page_title: 'Checkout',
      page_referrer: 'http://search.example:8080/q?s=shoes',
      page_urlscheme: 'https',
      page_urlhost: 'shop.example',
      page_urlport: 443,
      page_urlpath: '/cart/checkout',
      page_urlquery: 'step=2&x=%20y',
      page_urlfragment: 'pay',
      refr_urlscheme: 'http',
      refr_urlhost: 'search.example',
      refr_urlport: 8080,
      refr_urlpath: '/q',
      refr_urlquery: 's=shoes',
    });
  });

  it('names each event type and its schema as Enrich does', () => {
    const base = { eid: 'x' };
    const schemaOf = (p: TrackerParams) => {
      const e = run({ ...base, ...p });
      return `${e.event} iglu:${e.event_vendor}/${e.event_name}/${e.event_format}/${e.event_version}`;
    };
    expect(schemaOf({ e: 'pv' })).toBe('page_view iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0');
    expect(schemaOf({ e: 'pp' })).toBe('page_ping iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0');
    expect(schemaOf({ e: 'se' })).toBe('struct iglu:com.google.analytics/event/jsonschema/1-0-0');
    expect(schemaOf({ e: 'ev' })).toBe('struct iglu:com.google.analytics/event/jsonschema/1-0-0');
    expect(schemaOf({ e: 'tr' })).toBe('transaction iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0');
    expect(schemaOf({ e: 'ti' })).toBe('transaction_item iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0');
    expect(schemaOf({ e: 'ue', ue_pr: JSON.stringify(ue('iglu:com.acme/checkout_step/jsonschema/2-1-3', {})) })).toBe(
      'unstruct iglu:com.acme/checkout_step/jsonschema/2-1-3',
    );
  });

  it('types structured-event, transaction, item and page-ping fields as the SDK does', () => {
    expect(run({ e: 'se', eid: 'x', se_ca: 'c', se_ac: 'a', se_la: 'l', se_pr: 'p', se_va: '2.5' })).toMatchObject({
      se_category: 'c',
      se_action: 'a',
      se_label: 'l',
      se_property: 'p',
      se_value: 2.5,
    });
    // Legacy ev_* names still map, and the current names win.
    expect(run({ e: 'ev', eid: 'x', ev_ca: 'old', ev_va: '1', se_ca: 'new' })).toMatchObject({ se_category: 'new', se_value: 1 });
    const tr = run({ e: 'tr', eid: 'x', tr_id: 'o1', tr_af: 'web', tr_tt: '99.90', tr_tx: '1e1', tr_sh: '-2', tr_ci: 'Lyon', tr_st: 'ARA', tr_co: 'FR', tr_cu: 'EUR' });
    expect(tr).toMatchObject({
      tr_orderid: 'o1',
      tr_affiliation: 'web',
      tr_total: 99.9,
      tr_tax: 10,
      tr_shipping: -2,
      tr_city: 'Lyon',
      tr_state: 'ARA',
      tr_country: 'FR',
      tr_currency: 'EUR',
    });
    const ti = run({ e: 'ti', eid: 'x', ti_id: 'o1', ti_sk: 'sku', ti_na: 'legacy', ti_nm: 'Shoe', ti_ca: 'shoes', ti_pr: '.5', ti_qu: '3', ti_cu: 'EUR' });
    expect(ti).toMatchObject({ ti_orderid: 'o1', ti_sku: 'sku', ti_name: 'Shoe', ti_category: 'shoes', ti_price: 0.5, ti_quantity: 3, ti_currency: 'EUR' });
    expect(run({ e: 'pp', eid: 'x', pp_mix: '0', pp_max: '10', pp_miy: '-5', pp_may: '800' })).toMatchObject({
      pp_xoffset_min: 0,
      pp_xoffset_max: 10,
      pp_yoffset_min: -5,
      pp_yoffset_max: 800,
    });
  });

  it('parses browser fields: dimensions, booleans, user agent', () => {
    const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/67.0.3396.99 Safari/537.36';
    expect(userAgentFields(ua)).toMatchObject({ br_family: 'Chrome', br_version: '67.0.3396.99', os_family: 'Windows', dvce_type: 'Computer', dvce_ismobile: false });
    const e = run({ e: 'pv', eid: 'x', res: '1920x1080', vp: '800x600', ds: '800x4000', cookie: '1', f_pdf: '0', cd: '24', lang: 'fr-FR', tz: 'Europe/Paris', cs: 'UTF-8', ua });
    expect(e).toMatchObject({
      dvce_screenwidth: 1920,
      dvce_screenheight: 1080,
      br_viewwidth: 800,
      br_viewheight: 600,
      doc_width: 800,
      doc_height: 4000,
      br_cookies: true,
      br_features_pdf: false,
      br_colordepth: '24',
      br_lang: 'fr-FR',
      os_timezone: 'Europe/Paris',
      doc_charset: 'UTF-8',
      useragent: ua,
      br_name: 'Chrome 67',
    });
  });

  it('lets tracker parameters override what the collector saw: ip, ua, tnuid over nuid over the cookie', () => {
    const m = { userAgent: 'curl/8.0', networkUserId: 'cookie-id' };
    expect(run({ e: 'pv', eid: 'x' }, m)).toMatchObject({ user_ipaddress: '203.0.113.9', useragent: 'curl/8.0', network_userid: 'cookie-id' });
    expect(run({ e: 'pv', eid: 'x', nuid: 'n' }, m).network_userid).toBe('n');
    expect(run({ e: 'pv', eid: 'x', ip: '198.51.100.1, 10.0.0.1', ua: 'Tracker/1', nuid: 'n', tnuid: 't' }, m)).toMatchObject({
      user_ipaddress: '198.51.100.1',
      useragent: 'Tracker/1',
      network_userid: 't',
    });
    expect(run({ e: 'pv', eid: 'x' }, { ipAddress: undefined })).not.toHaveProperty('user_ipaddress');
  });

  it('writes text the way Enrich writes TSV: tabs to spaces, no control characters, empty is absent', () => {
    const e = run({ e: 'pv', eid: 'x', page: 'a\tb\nc\u0000d', uid: '', aid: '\r' });
    expect(e.page_title).toBe('a    bcd');
    expect(e).not.toHaveProperty('user_id');
    expect(e).not.toHaveProperty('app_id');
  });

  it('keeps a page URL it cannot parse, without components; defaults ports by scheme', () => {
    const bad = run({ e: 'pv', eid: 'x', url: 'not a url' });
    expect(bad.page_url).toBe('not a url');
    expect(bad).not.toHaveProperty('page_urlhost');
    expect(run({ e: 'pv', eid: 'x', url: 'http://a.example' })).toMatchObject({ page_urlport: 80, page_urlpath: '/' });
    expect(run({ e: 'pv', eid: 'x', url: 'https://a.example:8443/' }).page_urlport).toBe(8443);
  });
});

describe('enrich: timestamps', () => {
  const at = (iso: string) => String(Date.parse(iso));

  it('derives the timestamp from the collector time moved back by the time the event waited on the device', () => {
    // The device clock is a day behind; the event waited 500 ms before it was sent.
    const e = run({ e: 'pv', eid: 'x', dtm: at('2024-02-29T12:00:00.000Z'), stm: at('2024-02-29T12:00:00.500Z') });
    expect(e.derived_tstamp).toBe('2024-03-01T12:00:09.500Z');
    expect(e.dvce_created_tstamp).toBe('2024-02-29T12:00:00.000Z');
  });

  it('uses the collector time without both device times, or when sent is not after created', () => {
    expect(run({ e: 'pv', eid: 'x' }).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
    expect(run({ e: 'pv', eid: 'x', dtm: at('2024-02-29T12:00:00Z') }).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
    expect(run({ e: 'pv', eid: 'x', stm: at('2024-02-29T12:00:00Z') }).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
    expect(run({ e: 'pv', eid: 'x', dtm: at('2024-02-29T12:00:01Z'), stm: at('2024-02-29T12:00:00Z') }).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
    expect(run({ e: 'pv', eid: 'x', dtm: '1000', stm: '1000' }).derived_tstamp).toBe('2024-03-01T12:00:10.000Z');
  });

  it('takes the true timestamp when the tracker sent one', () => {
    const e = run({ e: 'pv', eid: 'x', dtm: '1000000', stm: '1000500', ttm: at('2020-01-01T00:00:00Z') });
    expect(e).toMatchObject({ derived_tstamp: '2020-01-01T00:00:00.000Z', true_tstamp: '2020-01-01T00:00:00.000Z' });
  });

  it('computes derivedTstamp as a pure function of the four times', () => {
    expect(derivedTstamp(10_000, 1_000, 1_600, undefined)).toBe(9_400);
    expect(derivedTstamp(10_000, 1_600, 1_000, undefined)).toBe(10_000);
    expect(derivedTstamp(10_000, undefined, 1_000, undefined)).toBe(10_000);
    expect(derivedTstamp(10_000, 1_000, 1_600, 5)).toBe(5);
  });

  it('fails timestamps that are not integer milliseconds within years 0000-9999', () => {
    expect(fieldOf({ e: 'pv', eid: 'x', dtm: 'yesterday' })).toBe('dtm');
    expect(fieldOf({ e: 'pv', eid: 'x', stm: '1.5' })).toBe('stm');
    expect(fieldOf({ e: 'pv', eid: 'x', ttm: '1e20' })).toBe('ttm');
    expect(fieldOf({ e: 'pv', eid: 'x', ttm: '99999999999999999' })).toBe('ttm');
    expect(fieldOf({ e: 'pv', eid: 'x', dtm: '-99999999999999' })).toBe('dtm');
    // A skew that would put the derived time before year 0 is the event's fault too, not a crash.
    expect(fieldOf({ e: 'pv', eid: 'x', dtm: '0', stm: '253402300799999' })).toBe('derived_tstamp');
    expect(fieldOf({ e: 'pv', eid: 'x' } as TrackerParams)).toBe('no error');
    expect(failure(() => enrich({ e: 'pv', eid: 'x' }, { ...meta, collectorTstamp: Number.NaN }))).toMatchObject({ field: 'collector_tstamp' });
  });
});

describe('enrich: self-describing event and contexts', () => {
  const addToCart = ue('iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', { sku: 'red-42', quantity: 2 });
  const FIELD = 'unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1';

  it.each<[string, TrackerParams]>([
    ['ue_pr (plain JSON)', { ue_pr: JSON.stringify(addToCart) }],
    ['ue_px base64url without padding', { ue_px: b64url(addToCart) }],
    ['ue_px base64url with padding', { ue_px: b64url(addToCart) + '='.repeat((4 - (b64url(addToCart).length % 4)) % 4) }],
    ['ue_px standard base64 with padding', { ue_px: b64(addToCart) }],
    ['ue_px standard base64 without padding', { ue_px: b64(addToCart).replace(/=+$/, '') }],
    ['ue_px whose + became a space in a form-decoded query', { ue_px: b64(addToCart).replace(/\+/g, ' ') }],
  ])('reads the event from %s', (_how, p) => {
    const e = run({ e: 'ue', eid: 'x', ...p });
    expect(e).toMatchObject({ event: 'unstruct', event_vendor: 'com.snowplowanalytics.snowplow', event_name: 'add_to_cart', event_version: '1-0-0' });
    expect(e[FIELD]).toEqual({ sku: 'red-42', quantity: 2 });
  });

  it('decodes non-ASCII text from base64 as UTF-8', () => {
    const e = run({ e: 'ue', eid: 'x', ue_px: b64url(ue('iglu:com.acme/note/jsonschema/1-0-0', { text: 'crème brûlée ✓ 🍮' })) });
    expect(e.unstruct_event_com_acme_note_1).toEqual({ text: 'crème brûlée ✓ 🍮' });
  });

  it('puts contexts of one schema model in one array, in order; other models and schemas apart', () => {
    const co = ctx(
      { schema: 'iglu:com.acme-corp/user/jsonschema/1-0-0', data: { n: 1 } },
      { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'w' } },
      { schema: 'iglu:com.acme-corp/user/jsonschema/1-2-0', data: { n: 2 } },
      { schema: 'iglu:com.acme-corp/user/jsonschema/2-0-0', data: { n: 3 } },
    );
    for (const p of [{ cx: b64url(co) }, { co: JSON.stringify(co) }] as TrackerParams[]) {
      const e = run({ e: 'pv', eid: 'x', ...p });
      expect(e.contexts_com_acme_corp_user_1).toEqual([{ n: 1 }, { n: 2 }]);
      expect(e.contexts_com_acme_corp_user_2).toEqual([{ n: 3 }]);
      expect(e.contexts_com_snowplowanalytics_snowplow_web_page_1).toEqual([{ id: 'w' }]);
    }
    expect(Object.keys(run({ e: 'pv', eid: 'x', cx: b64url(ctx()) })).filter((k) => k.startsWith('contexts_'))).toEqual([]);
  });

  it('lists the self-describing JSONs to validate, by the parameter they came in', () => {
    const co = ctx({ schema: 'iglu:com.acme/a/jsonschema/1-0-0', data: { a: 1 } }, { schema: 'iglu:com.acme/b/jsonschema/1-0-0', data: {} });
    expect(selfDescribingJsons({ e: 'ue', eid: 'x', ue_px: b64url(addToCart), cx: b64url(co) })).toEqual([
      { field: 'ue_px', json: addToCart.data },
      { field: 'cx.data[0]', json: co.data[0] },
      { field: 'cx.data[1]', json: co.data[1] },
    ]);
    expect(selfDescribingJsons({ e: 'pv', eid: 'x' })).toEqual([]);
  });

  it('enriches and lists the self-describing JSONs in one pass, as enrich and selfDescribingJsons do apart', () => {
    const co = ctx({ schema: 'iglu:com.acme/a/jsonschema/1-0-0', data: { a: 1 } });
    for (const p of [{ e: 'ue', eid: 'x', ue_px: b64url(addToCart), cx: b64url(co) }, { e: 'pv', eid: 'y', url: 'https://shop.example/' }] as TrackerParams[]) {
      expect(enrichEvent(p, meta, { etlTstamp: ETL })).toEqual({ sdk: run(p), selfDescribing: selfDescribingJsons(p) });
    }
    // The first problem found still names its field: a bad timestamp before a bad context.
    expect(failure(() => enrichEvent({ e: 'pv', eid: 'x', dtm: 'soon', cx: 'not-base64!' }, meta))).toMatchObject({ field: 'dtm' });
  });

  it.each<[string, TrackerParams, string, RegExp]>([
    ['ue_px that is not base64', { e: 'ue', ue_px: '!!!not-base64!!!' }, 'ue_px', /^not valid base64-encoded JSON$/],
    // One character past a whole encoding: a lenient decoder would drop it and read valid JSON.
    ['ue_px with an impossible length', { e: 'ue', ue_px: `${wholeBase64(addToCart)}A` }, 'ue_px', /^not valid base64-encoded JSON$/],
    ['ue_px that is base64 of no JSON', { e: 'ue', ue_px: Buffer.from('{oops').toString('base64url') }, 'ue_px', /^not valid base64-encoded JSON$/],
    ['ue_pr that is not JSON', { e: 'ue', ue_pr: '{"schema":' }, 'ue_pr', /^not valid JSON$/],
    ['an unstruct event without ue_pr or ue_px', { e: 'ue' }, 'ue_pr', /needs ue_pr or ue_px/],
    ['an envelope without data', { e: 'ue', ue_px: b64url({ schema: UE }) }, 'ue_px', /not self-describing JSON/],
    ['an envelope that is an array', { e: 'ue', ue_pr: '[1]' }, 'ue_pr', /not self-describing JSON/],
    ['a contexts envelope in ue', { e: 'ue', ue_px: b64url({ schema: CONTEXTS, data: addToCart.data }) }, 'ue_px', /unstruct_event\/jsonschema\/1-0-\*/],
    ['an inner event without schema', { e: 'ue', ue_px: b64url({ schema: UE, data: { data: {} } }) }, 'ue_px', /^data is not self-describing JSON/],
    ['an inner event with a malformed Iglu URI', { e: 'ue', ue_px: b64url(ue('iglu:com.acme/x/jsonschema/1-0', {})) }, 'ue_px', /^data\.schema "iglu:com\.acme\/x\/jsonschema\/1-0" is not an Iglu schema URI/],
    ['contexts that are not base64', { e: 'pv', cx: '%%%' }, 'cx', /^not valid base64-encoded JSON$/],
    ['contexts that are not JSON', { e: 'pv', co: 'nope' }, 'co', /^not valid JSON$/],
    ['a contexts envelope without schema', { e: 'pv', co: '{"data": 1}' }, 'co', /not self-describing JSON/],
    ['contexts whose data is not an array', { e: 'pv', cx: b64url({ schema: CONTEXTS, data: {} }) }, 'cx', /data must be an array/],
    ['a context with a model-0 Iglu URI', { e: 'pv', co: JSON.stringify(ctx({ schema: 'iglu:com.acme/x/jsonschema/0-1-0', data: {} })) }, 'co', /^data\[0\]\.schema .* is not an Iglu schema URI/],
    ['a context without data', { e: 'pv', co: JSON.stringify({ schema: CONTEXTS, data: [{ schema: 'iglu:com.acme/x/jsonschema/1-0-0' }] }) }, 'co', /^data\[0\] is not self-describing JSON/],
  ])('fails %s, naming the parameter', (_what, p, field, message) => {
    const f = failure(() => run({ eid: 'x', ...p }));
    expect(f).toMatchObject({ field });
    expect(typeof f === 'string' ? f : f.message).toMatch(message);
  });
});

describe('enrich: events it cannot read', () => {
  it.each<[string, TrackerParams, string]>([
    ['no e', { eid: 'x' }, 'e'],
    ['an unknown e', { e: 'zz', eid: 'x' }, 'e'],
    ['an e from the prototype', { e: 'toString', eid: 'x' }, 'e'],
    ['a legacy ad impression (Enrich has no schema for it)', { e: 'ad', eid: 'x' }, 'e'],
    ['no eid (the caller decides on an id)', { e: 'pv' }, 'eid'],
    ['an empty eid', { e: 'pv', eid: '' }, 'eid'],
    ['an unknown platform', { e: 'pv', eid: 'x', p: 'phone' }, 'p'],
    ['a non-numeric se_va', { e: 'se', eid: 'x', se_va: 'ten' }, 'se_va'],
    ['a hexadecimal tr_tt', { e: 'tr', eid: 'x', tr_tt: '0x10' }, 'tr_tt'],
    ['an infinite ti_pr', { e: 'ti', eid: 'x', ti_pr: 'Infinity' }, 'ti_pr'],
    ['a fractional ti_qu', { e: 'ti', eid: 'x', ti_qu: '1.5' }, 'ti_qu'],
    ['a vid beyond 32 bits', { e: 'pv', eid: 'x', vid: '2147483648' }, 'vid'],
    ['a cookie flag that is not 0/1', { e: 'pv', eid: 'x', cookie: 'yes' }, 'cookie'],
    ['a malformed res', { e: 'pv', eid: 'x', res: '1920*1080' }, 'res'],
    ['a malformed vp', { e: 'pv', eid: 'x', vp: '800x' }, 'vp'],
  ])('fails %s', (_what, p, field) => {
    expect(fieldOf(p)).toBe(field);
  });

  it('says what is wrong in the message, without repeating the field', () => {
    expect(failure(() => run({ e: 'se', eid: 'x', se_va: 'ten' }))).toEqual({ field: 'se_va', message: '"ten" is not a number' });
    expect(failure(() => run({ e: 'zz', eid: 'x' }))).toEqual({ field: 'e', message: '"zz" is not an event type (pv, pp, se, ue, tr, ti)' });
  });
});

describe('Iglu URIs and SDK field names', () => {
  it('parses Iglu schema URIs', () => {
    expect(iglu('iglu:com.acme/x/jsonschema/10-2-3')).toEqual({ vendor: 'com.acme', name: 'x', format: 'jsonschema', version: '10-2-3', model: 10 });
    expect(iglu('iglu:com.acme-corp_1/add-to_cart/jsonschema/1-0-0')).toMatchObject({ vendor: 'com.acme-corp_1', name: 'add-to_cart', model: 1 });
  });

  it.each(['com.acme/x/jsonschema/1-0-0', 'iglu:com.acme/x/jsonschema/1-0', 'iglu:com.acme/x/jsonschema/0-1-0', 'iglu:com.acme/x/jsonschema/01-0-0', 'iglu:com.acme/x/jsonschema/1-00-0', 'iglu:com.acme/x/jsonschema/1-*-*', 'iglu:com.acme/x/y/jsonschema/1-0-0', 'iglu:com acme/x/jsonschema/1-0-0', 'iglu:com.acme/x/jsonschema/1-0-0 '])(
    'refuses %j',
    (uri) => {
      expect(failure(() => iglu(uri))).toMatchObject({ field: 'schema' });
    },
  );

  it.each<[string, string, number, string]>([
    ['com.snowplowanalytics.snowplow', 'web_page', 1, 'contexts_com_snowplowanalytics_snowplow_web_page_1'],
    ['com.acme-corp', 'linkClick', 3, 'contexts_com_acme_corp_link_click_3'],
    ['com.Acme', 'AddToBasket', 2, 'contexts_com_acme_add_to_basket_2'],
    ['com.acme', 'URLChange', 1, 'contexts_com_acme_urlchange_1'],
    ['com.acme', 'pageURL', 1, 'contexts_com_acme_page_url_1'],
    ['com.acme', 'snake_Case', 1, 'contexts_com_acme_snake_case_1'],
    ['com.acme', 'with-dash', 1, 'contexts_com_acme_with-dash_1'],
    ['com.acme', 'v2Event', 1, 'contexts_com_acme_v2_event_1'],
  ])('names contexts of %s/%s model %d as the SDKs do', (vendor, name, model, expected) => {
    expect(sdkFieldName('contexts', vendor, name, model)).toBe(expected);
    expect(sdkFieldName('unstruct_event', vendor, name, model)).toBe(expected.replace(/^contexts_/, 'unstruct_event_'));
  });
});
