import { transform as sdkTransform } from 'snowplow-analytics-sdk';
import { badRow } from '../../src/badrows/format';
import { enrich, selfDescribingJsons } from '../../src/snowplow/enrich';
import { ENRICHED_FIELDS, parseEnrichedTsv, describeFailure, selfDescribingParts, toEnrichedTsv } from '../../src/snowplow/enriched-tsv';
import type { TrackerParams } from '../../src/snowplow/tp2';
import { event as sdkFixture } from '../fixtures/snowplow/sdk-event.fixture';

/**
 * beltline's enriched-TSV parser against Snowplow's Analytics SDK for JavaScript (npm
 * `snowplow-analytics-sdk`, its only published release 0.1.0) on the same lines. Where beltline
 * deliberately differs, `asBeltline` says so and why; nothing else may differ.
 */

type Fields = Record<string, string>;

/** A line from field values by name; fields not given are empty. */
function line(fields: Fields): string {
  for (const k of Object.keys(fields)) if (!ENRICHED_FIELDS.some(([f]) => f === k)) throw new Error(`no enriched field ${k}`);
  return ENRICHED_FIELDS.map(([f]) => fields[f] ?? '').join('\t');
}

/**
 * The SDK's output with beltline's two deliberate differences applied: field 126 is
 * `refr_dvce_tstamp` (the SDK renamed its `refr_device_tstamp` so in 0.3.0, never published to
 * npm), and `se_value` is a number (as in the Scala and Python SDKs, and in beltline's collector events).
 */
function asBeltline(sdk: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...sdk };
  if ('refr_device_tstamp' in out) {
    out.refr_dvce_tstamp = out.refr_device_tstamp;
    delete out.refr_device_tstamp;
  }
  if (typeof out.se_value === 'string') out.se_value = Number(out.se_value);
  return out;
}

function sdk(l: string): Record<string, unknown> {
  return asBeltline(sdkTransform(l) as unknown as Record<string, unknown>);
}

function ours(l: string): Record<string, unknown> {
  const r = parseEnrichedTsv(l);
  if (!r.ok) throw new Error(describeFailure(r.failure));
  return r.event;
}

const contexts = (...items: { schema: string; data: unknown }[]) => JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', data: items });
const unstruct = (schema: string, data: unknown) => JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema, data } });

const base: Fields = {
  app_id: 'shop',
  platform: 'web',
  etl_tstamp: '2026-12-06 10:00:01.123',
  collector_tstamp: '2026-12-06 10:00:00.456',
  dvce_created_tstamp: '2026-12-06 09:59:59.001',
  event_id: '7f0f9b4e-6c9a-4b1e-9d2f-3f7a1b2c4d5e',
  name_tracker: 'sp',
  v_tracker: 'js-4.8.0',
  v_collector: 'ssc-3.2.0-kafka',
  v_etl: 'snowplow-enrich-kafka-5.1.0',
  user_ipaddress: '203.0.113.7',
  domain_userid: 'd7c1e4b2-0b6a-4c8e-9f3a-2a1b3c4d5e6f',
  domain_sessionidx: '2',
  network_userid: '0c9a7f1e-1111-4222-8333-944455566677',
  useragent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  br_lang: 'en-GB',
  br_cookies: '1',
  br_colordepth: '24',
  br_viewwidth: '1280',
  br_viewheight: '800',
  os_timezone: 'Europe/London',
  dvce_screenwidth: '1920',
  dvce_screenheight: '1080',
  doc_charset: 'UTF-8',
  doc_width: '1280',
  doc_height: '3400',
  dvce_sent_tstamp: '2026-12-06 09:59:59.500',
  domain_sessionid: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  derived_tstamp: '2026-12-06 09:59:59.957',
  event_format: 'jsonschema',
  event_version: '1-0-0',
  event_fingerprint: '3c5d1a6f0e2b4d7c8a9b0c1d2e3f4a5b',
};

const webPage = { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: '3d2a1f0e-aaaa-4bbb-8ccc-ddddeeeeffff' } };

/** Real-shaped lines: what Snowplow Enrich writes for these kinds of events. */
const LINES: Record<string, string> = {
  'the SDK repository\'s own fixture (link_click, contexts, derived contexts, geo)': Object.values(sdkFixture).join('\t'),
  'a page view with a web_page context and page URL parts': line({
    ...base,
    event: 'page_view',
    page_url: 'https://shop.example.com/p/42?utm_source=news#reviews',
    page_title: 'Blue shoes',
    page_referrer: 'https://www.google.com/',
    page_urlscheme: 'https',
    page_urlhost: 'shop.example.com',
    page_urlport: '443',
    page_urlpath: '/p/42',
    page_urlquery: 'utm_source=news',
    page_urlfragment: 'reviews',
    refr_urlscheme: 'https',
    refr_urlhost: 'www.google.com',
    refr_urlport: '443',
    refr_urlpath: '/',
    refr_medium: 'search',
    refr_source: 'Google',
    mkt_medium: 'email',
    mkt_source: 'news',
    contexts: contexts(webPage),
    event_vendor: 'com.snowplowanalytics.snowplow',
    event_name: 'page_view',
  }),
  'a page ping with offsets': line({
    ...base,
    event: 'page_ping',
    pp_xoffset_min: '0',
    pp_xoffset_max: '0',
    pp_yoffset_min: '120',
    pp_yoffset_max: '1480',
    contexts: contexts(webPage),
    event_vendor: 'com.snowplowanalytics.snowplow',
    event_name: 'page_ping',
  }),
  'a self-describing (unstruct) event with two contexts of one schema and a derived context': line({
    ...base,
    user_id: 'ada@example.com',
    event: 'unstruct',
    unstruct_event: unstruct('iglu:com.acme/addToCart/jsonschema/1-0-2', { sku: 'SHOE-42', quantity: 2, price: 59.9, tags: ['sale'] }),
    contexts: contexts(webPage, { schema: 'iglu:com.acme/product/jsonschema/1-0-0', data: { sku: 'SHOE-42' } }, { schema: 'iglu:com.acme/product/jsonschema/1-1-0', data: { sku: 'SOCK-1', colour: null } }),
    derived_contexts: contexts({ schema: 'iglu:nl.basjes/yauaa_context/jsonschema/1-0-4', data: { deviceClass: 'Desktop', agentName: 'Chrome' } }),
    event_vendor: 'com.acme',
    event_name: 'addToCart',
    event_version: '1-0-2',
    true_tstamp: '2026-12-06 09:59:58.000',
  }),
  'a structured event with a value': line({
    ...base,
    event: 'struct',
    se_category: 'checkout',
    se_action: 'apply-coupon',
    se_label: 'WINTER10',
    se_property: 'basket',
    se_value: '10.5',
    event_vendor: 'com.google.analytics',
    event_name: 'event',
  }),
  'a transaction and a transaction item with currencies': line({
    ...base,
    event: 'transaction_item',
    tr_orderid: 'order-1',
    tr_affiliation: 'web',
    tr_total: '119.8',
    tr_tax: '19.97',
    tr_shipping: '0',
    tr_city: 'London',
    tr_country: 'GB',
    ti_orderid: 'order-1',
    ti_sku: 'SHOE-42',
    ti_name: 'Blue shoes',
    ti_category: 'shoes',
    ti_price: '59.9',
    ti_quantity: '2',
    tr_currency: 'GBP',
    tr_total_base: '139.77',
    ti_currency: 'GBP',
    ti_price_base: '69.88',
    base_currency: 'EUR',
    event_vendor: 'com.snowplowanalytics.snowplow',
    event_name: 'transaction_item',
  }),
  'a server-side event with nearly every field empty': line({
    platform: 'srv',
    collector_tstamp: '2026-12-06 10:00:00.000',
    event: 'page_view',
    event_id: '00000000-0000-4000-8000-000000000001',
    v_collector: 'ssc-3.2.0-kafka',
    v_etl: 'snowplow-enrich-kafka-5.1.0',
    derived_tstamp: '2026-12-06 10:00:00.000',
  }),
  'an event with an empty contexts array, browser features and IP lookups': line({
    ...base,
    event: 'page_view',
    contexts: contexts(),
    br_features_pdf: '1',
    br_features_flash: '0',
    br_features_java: '0',
    dvce_ismobile: '0',
    geo_country: 'GB',
    geo_city: 'London',
    geo_latitude: '51.5142',
    geo_longitude: '-0.0931',
    geo_timezone: 'Europe/London',
    ip_isp: 'Example ISP',
    event_vendor: 'com.snowplowanalytics.snowplow',
    event_name: 'page_view',
  }),
};

/** Every one of the 131 fields set, each to a value of its type unique to it: the field order and every type, at once. */
function everyField(): string {
  return ENRICHED_FIELDS.map(([f, kind], i) => {
    switch (kind) {
      case 'string':
        return `${f}-value`;
      case 'int':
        return String(i);
      case 'double':
        return `${i}.25`;
      case 'bool':
        return i % 2 === 0 ? '1' : '0';
      case 'tstamp':
        return `2026-12-06 10:${String(i % 60).padStart(2, '0')}:00.${String(i).padStart(3, '0')}`;
      case 'contexts':
        return contexts({ schema: `iglu:com.example/${f}/jsonschema/1-0-0`, data: { field: f } });
      case 'unstruct':
        return unstruct('iglu:com.example/thing_done/jsonschema/2-1-0', { n: i });
    }
  }).join('\t');
}

describe('enriched TSV (Snowplow interop in)', () => {
  it('has the 131 fields of the enriched format', () => {
    expect(ENRICHED_FIELDS).toHaveLength(131);
    expect(new Set(ENRICHED_FIELDS.map(([f]) => f)).size).toBe(131);
  });

  it.each(Object.entries(LINES))('reads %s as the Analytics SDK does', (_name, l) => {
    const sdkJson = sdk(l);
    expect(ours(l)).toEqual(sdkJson);
  });

  it('reads a line with every field set, in the SDK\'s order and types', () => {
    const l = everyField();
    const event = ours(l);
    expect(event).toEqual(sdk(l));
    // 129 atomic fields + 2 context arrays + the unstruct event + geo_location − the 3 JSON fields.
    expect(Object.keys(event)).toHaveLength(131 - 3 + 2 + 1 + 1);
    expect(event.refr_dvce_tstamp).toMatch(/^2026-12-06T10:\d\d:00\.\d{3}Z$/);
    expect(event.unstruct_event_com_example_thing_done_2).toEqual({ n: ENRICHED_FIELDS.findIndex(([f]) => f === 'unstruct_event') });
  });

  it('turns unstruct and contexts into the SDK fields by vendor, snake_case name and model', () => {
    const event = ours(LINES['a self-describing (unstruct) event with two contexts of one schema and a derived context']);
    expect(event.unstruct_event_com_acme_add_to_cart_1).toEqual({ sku: 'SHOE-42', quantity: 2, price: 59.9, tags: ['sale'] });
    expect(event.contexts_com_acme_product_1).toEqual([{ sku: 'SHOE-42' }, { sku: 'SOCK-1', colour: null }]);
    expect(event.contexts_com_snowplowanalytics_snowplow_web_page_1).toEqual([webPage.data]);
    expect(event.contexts_nl_basjes_yauaa_context_1).toEqual([{ deviceClass: 'Desktop', agentName: 'Chrome' }]);
    expect(event).not.toHaveProperty('contexts');
    expect(event).not.toHaveProperty('unstruct_event');
    expect(event).not.toHaveProperty('page_url');
  });

  it('takes Iglu vendors with dashes (the SDK on npm refuses them; its 0.3.0 took them)', () => {
    const l = line({ ...base, event: 'unstruct', unstruct_event: unstruct('iglu:com.my-company/signed_up/jsonschema/1-0-0', { plan: 'pro' }) });
    expect(() => sdkTransform(l)).toThrow('Wrong schema format.');
    expect(ours(l).unstruct_event_com_my_company_signed_up_1).toEqual({ plan: 'pro' });
  });

  it('refuses a line with the wrong number of fields, as the SDK does, saying how many it had', () => {
    const short = line(base).split('\t').slice(0, 130).join('\t');
    expect(() => sdkTransform(short)).toThrow('Wrong event fields number.');
    expect(parseEnrichedTsv(short)).toEqual({ ok: false, failure: { type: 'FieldNumberMismatch', fieldCount: 130 } });
    expect(parseEnrichedTsv('{"not":"tsv"}')).toEqual({ ok: false, failure: { type: 'FieldNumberMismatch', fieldCount: 1 } });
    expect(parseEnrichedTsv(`${line(base)}\textra`)).toMatchObject({ ok: false, failure: { fieldCount: 132 } });
  });

  it('names every field that does not read, as the SDK does, with the value and why', () => {
    const l = line({ ...base, dvce_ismobile: 'yes', tr_tax_base: 'bad_tax_base', event: 'page_view' });
    expect(() => sdkTransform(l)).toThrow("Invalid value for field 'dvce_ismobile'.\nInvalid value for field 'tr_tax_base'.");
    expect(parseEnrichedTsv(l)).toEqual({
      ok: false,
      failure: {
        type: 'RowDecodingError',
        errors: [
          { type: 'InvalidValue', key: 'dvce_ismobile', value: 'yes', message: '"yes" is not a boolean ("0" or "1")' },
          { type: 'InvalidValue', key: 'tr_tax_base', value: 'bad_tax_base', message: '"bad_tax_base" is not a number' },
        ],
      },
    });
  });

  it('is stricter than the SDK where the SDK would keep a wrong value', () => {
    // The SDK's parseInt reads "3abc" as 3 and its timestamps are taken as text, whatever they hold.
    const l = line({ ...base, event: 'page_view', domain_sessionidx: '3abc', derived_tstamp: 'yesterday' });
    expect(sdkTransform(l)).toMatchObject({ domain_sessionidx: 3, derived_tstamp: 'yesterdayZ' });
    const r = parseEnrichedTsv(l);
    expect(r.ok).toBe(false);
    if (!r.ok && r.failure.type === 'RowDecodingError') expect(r.failure.errors.map((e) => e.key)).toEqual(['domain_sessionidx', 'derived_tstamp']);
  });

  it('reports broken contexts and unstruct JSON by field instead of throwing', () => {
    const l = line({ ...base, event: 'unstruct', contexts: '{"schema":"iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0","data":[', unstruct_event: unstruct('not-an-iglu-uri', {}) });
    expect(() => sdkTransform(l)).toThrow();
    const r = parseEnrichedTsv(l);
    expect(r.ok).toBe(false);
    if (r.ok || r.failure.type !== 'RowDecodingError') throw new Error('expected a RowDecodingError');
    expect(r.failure.errors.map((e) => e.key)).toEqual(['contexts', 'unstruct_event']);
    expect(r.failure.errors[0].message).toMatch(/^not JSON/);
    expect(r.failure.errors[1].message).toMatch(/not an Iglu schema URI/);
  });

  it('keeps contexts of one schema from both contexts and derived_contexts (the SDK keeps only the derived)', () => {
    const ctx = (n: number) => ({ schema: 'iglu:com.acme/flag/jsonschema/1-0-0', data: { n } });
    const l = line({ ...base, event: 'page_view', contexts: contexts(ctx(1)), derived_contexts: contexts(ctx(2)) });
    expect(sdkTransform(l)).toMatchObject({ contexts_com_acme_flag_1: [{ n: 2 }] });
    expect(ours(l).contexts_com_acme_flag_1).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('makes a loader_parsing_error bad row of what does not read, the line kept whole', () => {
    const l = 'a\tb\tc';
    const r = parseEnrichedTsv(l);
    if (r.ok) throw new Error('expected a failure');
    const row = badRow('loader_parsing_error', { ...r.failure }, l);
    expect(row.schema).toBe('iglu:com.snowplowanalytics.snowplow.badrows/loader_parsing_error/jsonschema/2-0-0');
    expect(row.data.failure).toMatchObject({ type: 'FieldNumberMismatch', fieldCount: 3 });
    expect(row.data.payload).toBe(l);
    expect(describeFailure(r.failure)).toBe('3 tab-separated fields, an enriched event has 131');
  });
});

describe('enriched TSV out (for Snowplow loaders): the inverse of the parser', () => {
  const meta = { collectorTstamp: Date.parse('2026-12-06T10:00:00.250Z'), collector: 'beltline-0.1.0', ipAddress: '203.0.113.9', userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1', networkUserId: 'nuid-1' };
  const ue = (schema: string, data: unknown) => JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema, data } });
  const co = (...items: unknown[]) => Buffer.from(JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1', data: items })).toString('base64url');
  const TRACKED: Record<string, TrackerParams> = {
    'a page view with contexts (one schema twice) and a tab in its title': {
      e: 'pv', eid: 'e-1', aid: 'shop', p: 'web', tv: 'js-4.8.0', tna: 'sp', uid: 'ada', duid: 'd-1', sid: 's-1', vid: '3',
      url: 'https://shop.example.com:8443/p/42?x=1#top', page: 'Blue\tshoes', refr: 'https://www.google.com/', res: '1920x1080', vp: '1280x800', cookie: '1', f_pdf: '0',
      dtm: '1796551199000', stm: '1796551199900',
      cx: co({ schema: 'iglu:com.acme/product/jsonschema/1-0-0', data: { sku: 'A' } }, { schema: 'iglu:com.acme/product/jsonschema/1-2-0', data: { sku: 'B' } }, { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'wp' } }),
    },
    'a self-describing event with a true timestamp': { e: 'ue', eid: 'e-2', p: 'srv', duid: 'd-1', ttm: '1796551100123', ue_pr: ue('iglu:com.acme/checkout_started/jsonschema/2-0-1', { total: 59.9, items: [{ sku: 'A' }] }) },
    'a structured event with a value': { e: 'se', eid: 'e-3', p: 'mob', se_ca: 'c', se_ac: 'a', se_la: 'l', se_pr: 'p', se_va: '-0.25' },
    'a transaction item': { e: 'ti', eid: 'e-4', p: 'web', ti_id: 'o-1', ti_sk: 'SKU', ti_nm: 'Shoe', ti_ca: 'shoes', ti_pr: '59.9', ti_qu: '2', ti_cu: 'GBP' },
  };

  it.each(Object.entries(TRACKED))('writes %s so that the parser, and the SDK, read back the same JSON', (_name, params) => {
    const sdkJson = enrich(params, meta, { etlTstamp: Date.parse('2026-12-06T10:00:01.000Z') });
    const line = toEnrichedTsv(sdkJson, selfDescribingParts(selfDescribingJsons(params)));
    expect(line.split('\t')).toHaveLength(131);
    expect(ours(line)).toEqual(sdkJson);
    expect(sdk(line)).toEqual(sdkJson);
  });

  it('keeps each context\'s and the event\'s whole schema (the JSON keeps only the model)', () => {
    const params = TRACKED['a page view with contexts (one schema twice) and a tab in its title'];
    const line = toEnrichedTsv(enrich(params, meta), selfDescribingParts(selfDescribingJsons(params))).split('\t');
    const contexts = JSON.parse(line[ENRICHED_FIELDS.findIndex(([f]) => f === 'contexts')]) as { data: { schema: string }[] };
    expect(contexts.data.map((c) => c.schema)).toEqual(['iglu:com.acme/product/jsonschema/1-0-0', 'iglu:com.acme/product/jsonschema/1-2-0', 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0']);
    const ueParams = TRACKED['a self-describing event with a true timestamp'];
    const ueLine = toEnrichedTsv(enrich(ueParams, meta), selfDescribingParts(selfDescribingJsons(ueParams))).split('\t');
    expect(JSON.parse(ueLine[ENRICHED_FIELDS.findIndex(([f]) => f === 'unstruct_event')])).toEqual({
      schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0',
      data: { schema: 'iglu:com.acme/checkout_started/jsonschema/2-0-1', data: { total: 59.9, items: [{ sku: 'A' }] } },
    });
    expect(ueLine[ENRICHED_FIELDS.findIndex(([f]) => f === 'true_tstamp')]).toBe('2026-12-06 09:58:20.123');
  });

  it('round-trips the SDK fixture line through the parser', () => {
    const l = LINES['a self-describing (unstruct) event with two contexts of one schema and a derived context'];
    const r = parseEnrichedTsv(l);
    if (!r.ok) throw new Error('expected the line to read');
    const fields = l.split('\t');
    const parts = selfDescribingParts([
      { field: 'ue_pr', json: (JSON.parse(fields[ENRICHED_FIELDS.findIndex(([f]) => f === 'unstruct_event')]) as { data: { schema: string; data: unknown } }).data },
      ...(JSON.parse(fields[ENRICHED_FIELDS.findIndex(([f]) => f === 'contexts')]) as { data: { schema: string; data: unknown }[] }).data.map((json, i) => ({ field: `co.data[${i}]`, json })),
    ]);
    // beltline writes no derived contexts: the yauaa one is what does not come back.
    const { contexts_nl_basjes_yauaa_context_1: derived, ...rest } = r.event;
    expect(derived).toBeDefined();
    expect(ours(toEnrichedTsv(r.event, parts))).toEqual(rest);
  });
});
