import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  buildEcommerceTransaction,
  buildEcommerceTransactionItem,
  buildPagePing,
  buildPageView,
  buildSelfDescribingEvent,
  buildStructEvent,
  version as trackerVersion,
} from '@snowplow/node-tracker';
import { enrich, type SdkEvent } from '../../src/snowplow/enrich';
import { parseGetQuery, parseTp2Body, type TrackerParams } from '../../src/snowplow/tp2';
import { ADD_TO_CART, capturingTracker, sendEvents, type CapturedRequest } from '../support/tracker';

// What Snowplow's own Node tracker sends, through parseTp2Body / parseGetQuery and enrich.

const COLLECTED = Date.parse('2024-03-01T12:00:10.000Z');
const meta = { collectorTstamp: COLLECTED, collector: 'beltline-test', ipAddress: '203.0.113.9', networkUserId: 'nuid-cookie' };
const WEB_PAGE = 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0';

function paramsOf(requests: CapturedRequest[]): TrackerParams[] {
  return requests.flatMap((r) => (r.method === 'POST' ? parseTp2Body(r.body) : [parseGetQuery(Object.fromEntries(r.url.searchParams))]));
}

describe('events from @snowplow/node-tracker', () => {
  let events: SdkEvent[];
  let requests: CapturedRequest[];

  beforeAll(async () => {
    const capture = capturingTracker();
    const t = capture.tracker;
    t.setUserId('alice');
    t.setDomainUserId('duid-1');
    t.setSessionId('7a3b0c1e-0000-4000-8000-000000000001');
    t.setSessionIndex(3);
    t.setIpAddress('198.51.100.7');
    const page = [{ schema: WEB_PAGE, data: { id: 'page-1' } }];
    t.track(buildPageView({ pageUrl: 'https://shop.example:8443/shoes/red?size=42#reviews', pageTitle: 'Red shoes', referrer: 'https://search.example/?q=shoes' }), page);
    t.track(buildStructEvent({ category: 'product', action: 'zoom', label: 'red-42', property: 'image', value: 2.5 }), [
      ...page,
      { schema: 'iglu:com.acme/experiment/jsonschema/1-0-0', data: { arm: 'A' } },
      { schema: 'iglu:com.acme/experiment/jsonschema/1-0-0', data: { arm: 'B' } },
    ]);
    t.track(buildSelfDescribingEvent({ event: { schema: ADD_TO_CART, data: { sku: 'red-42', quantity: 2, unitPrice: 89.9, currency: 'EUR' } } }));
    t.track(buildEcommerceTransaction({ orderId: 'o-1', total: 179.8, tax: 29.97, shipping: 0, affiliation: 'web', city: 'Lyon', state: 'ARA', country: 'FR', currency: 'EUR' }));
    t.track(buildEcommerceTransactionItem({ orderId: 'o-1', sku: 'red-42', name: 'Red shoe', category: 'shoes', price: 89.9, quantity: 2, currency: 'EUR' }));
    t.track(buildPagePing({ pageUrl: 'https://shop.example/', minXOffset: 5, maxXOffset: 10, minYOffset: 20, maxYOffset: 300 }));
    t.track(buildPageView({ pageUrl: 'https://shop.example/true' }), null, { type: 'ttm', value: Date.parse('2023-06-01T00:00:00.000Z') });
    await capture.flush();
    requests = capture.requests;
    events = paramsOf(requests).map((p) => enrich(p, meta));
  });

  it('sends one tp2 POST that parseTp2Body takes whole', () => {
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ method: 'POST' });
    expect(requests[0].url.pathname).toBe('/com.snowplowanalytics.snowplow/tp2');
    expect(events.map((e) => e.event)).toEqual(['page_view', 'struct', 'unstruct', 'transaction', 'transaction_item', 'page_ping', 'page_view']);
  });

  it('carries the tracker, user and session fields on every event', () => {
    const body = requests[0].body as { data: { eid: string }[] };
    events.forEach((e, i) => {
      expect(e).toMatchObject({
        event_id: body.data[i].eid,
        app_id: 'capture-app',
        platform: 'srv',
        name_tracker: 'capture',
        v_tracker: `node-${trackerVersion}`,
        v_collector: 'beltline-test',
        user_id: 'alice',
        domain_userid: 'duid-1',
        domain_sessionid: '7a3b0c1e-0000-4000-8000-000000000001',
        domain_sessionidx: 3,
        user_ipaddress: '198.51.100.7',
        network_userid: 'nuid-cookie',
        collector_tstamp: '2024-03-01T12:00:10.000Z',
      });
      expect(e.event_id).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  it('corrects the device clock with the tracker dtm and stm', () => {
    const [pv] = events;
    const created = Date.parse(String(pv.dvce_created_tstamp));
    const sent = Date.parse(String(pv.dvce_sent_tstamp));
    expect(sent).toBeGreaterThanOrEqual(created);
    expect(Date.parse(pv.derived_tstamp)).toBe(sent > created ? COLLECTED - (sent - created) : COLLECTED);
  });

  it('reads the page view, its URL parts, referrer and context', () => {
    expect(events[0]).toMatchObject({
      event_vendor: 'com.snowplowanalytics.snowplow',
      event_name: 'page_view',
      page_url: 'https://shop.example:8443/shoes/red?size=42#reviews',
      page_title: 'Red shoes',
      page_referrer: 'https://search.example/?q=shoes',
      page_urlscheme: 'https',
      page_urlhost: 'shop.example',
      page_urlport: 8443,
      page_urlpath: '/shoes/red',
      page_urlquery: 'size=42',
      page_urlfragment: 'reviews',
      refr_urlhost: 'search.example',
      contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: 'page-1' }],
    });
  });

  it('reads the structured event, with contexts of one schema in one array', () => {
    expect(events[1]).toMatchObject({
      event_vendor: 'com.google.analytics',
      event_name: 'event',
      se_category: 'product',
      se_action: 'zoom',
      se_label: 'red-42',
      se_property: 'image',
      se_value: 2.5,
      contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: 'page-1' }],
      contexts_com_acme_experiment_1: [{ arm: 'A' }, { arm: 'B' }],
    });
  });

  it('reads the self-describing add_to_cart as seed 004 reads it', () => {
    expect(events[2]).toMatchObject({
      event_vendor: 'com.snowplowanalytics.snowplow',
      event_name: 'add_to_cart',
      event_format: 'jsonschema',
      event_version: '1-0-0',
      unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { sku: 'red-42', quantity: 2, unitPrice: 89.9, currency: 'EUR' },
    });
  });

  it('reads the transaction and its item with numbers as numbers', () => {
    expect(events[3]).toMatchObject({
      event_name: 'transaction',
      tr_orderid: 'o-1',
      tr_affiliation: 'web',
      tr_total: 179.8,
      tr_tax: 29.97,
      tr_shipping: 0,
      tr_city: 'Lyon',
      tr_state: 'ARA',
      tr_country: 'FR',
      tr_currency: 'EUR',
    });
    expect(events[4]).toMatchObject({
      event_name: 'transaction_item',
      ti_orderid: 'o-1',
      ti_sku: 'red-42',
      ti_name: 'Red shoe',
      ti_category: 'shoes',
      ti_price: 89.9,
      ti_quantity: 2,
      ti_currency: 'EUR',
    });
  });

  it('reads page pings and true timestamps', () => {
    expect(events[5]).toMatchObject({ event_name: 'page_ping', pp_xoffset_min: 5, pp_xoffset_max: 10, pp_yoffset_min: 20, pp_yoffset_max: 300 });
    expect(events[6]).toMatchObject({ true_tstamp: '2023-06-01T00:00:00.000Z', derived_tstamp: '2023-06-01T00:00:00.000Z' });
  });
});

describe('other tracker settings', () => {
  const cart = buildSelfDescribingEvent({ event: { schema: ADD_TO_CART, data: { sku: 'a', quantity: 1 } } });
  const context = [{ schema: WEB_PAGE, data: { id: 'p' } }];

  it('reads ue_pr and co when the tracker does not encode base64', async () => {
    const capture = capturingTracker({ encodeBase64: false });
    capture.tracker.track(cart, context);
    await capture.flush();
    const [params] = paramsOf(capture.requests);
    expect(Object.keys(params)).toEqual(expect.arrayContaining(['ue_pr', 'co']));
    expect(enrich(params, meta)).toMatchObject({
      unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { sku: 'a', quantity: 1 },
      contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: 'p' }],
    });
  });

  it('reads GET /i requests, one event each', async () => {
    const capture = capturingTracker({ eventMethod: 'get' });
    capture.tracker.track(buildPageView({ pageUrl: 'https://shop.example/a b?x=é' }));
    capture.tracker.track(cart, context);
    await capture.flush();
    expect(capture.requests.map((r) => `${r.method} ${r.url.pathname}`)).toEqual(['GET /i', 'GET /i']);
    const [pv, ue] = paramsOf(capture.requests).map((p) => enrich(p, meta));
    expect(pv).toMatchObject({ event: 'page_view', page_url: 'https://shop.example/a b?x=é', page_urlpath: '/a%20b' });
    expect(ue).toMatchObject({ event_name: 'add_to_cart', contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: 'p' }] });
  });
});

describe('sendEvents', () => {
  // A stand-in collector: tp2 POSTs are parsed and enriched as the real one does, 200 or 400.
  let server: http.Server;
  let port: number;
  const received: SdkEvent[] = [];
  let refuse = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        try {
          if (refuse || req.url !== '/com.snowplowanalytics.snowplow/tp2') throw new Error('refused');
          const events = parseTp2Body(JSON.parse(body)).map((p) => enrich(p, { collectorTstamp: Date.now(), collector: 'stand-in' }));
          received.push(...events);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: events.length }));
        } catch {
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('resolves with the ids of all events once the collector acknowledged each', async () => {
    received.length = 0;
    const ids = await sendEvents({ port, count: 25, userId: 'u-25', bufferSize: 1 });
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect(received.map((e) => e.event_id)).toEqual(ids);
    expect(received.every((e) => e.user_id === 'u-25')).toBe(true);
    expect(received.filter((e) => e.event === 'struct')).toHaveLength(6);
  });

  it('sends the events it is given', async () => {
    received.length = 0;
    const ids = await sendEvents({ port, count: 3, userId: 'u-3', event: (i) => buildStructEvent({ category: 'c', action: `a${i}` }) });
    expect(received.map((e) => [e.event_id, e.se_action])).toEqual(ids.map((id, i) => [id, `a${i}`]));
  });

  it('rejects when the collector refuses events', async () => {
    refuse = true;
    // The tracker logs the 400 it will not retry; expected here.
    const log = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await expect(sendEvents({ port, count: 2, userId: 'u-x' })).rejects.toThrow(/refused 2 of 2 events/);
    } finally {
      refuse = false;
      log.mockRestore();
    }
  });
});
