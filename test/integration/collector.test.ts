/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it stops Kafka.
 *
 * @stack exclusive
 */
import { loadConfig } from '../../src/config';
import { stackDown, stackUp } from '../../src/stack';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, type BeltlineProcess } from '../support/beltline';
import { freshTopic, recordCount } from '../support/kafka';

const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const goodBody = (eid: string) => ({
  schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
  data: [{ e: 'pv', eid, p: 'web', tv: 'test', url: 'https://example.com/' }],
});

describe('collector', () => {
  let beltline: BeltlineProcess;
  let topic: string;

  beforeAll(async () => {
    ({ topic } = await freshTopic('collector-test'));
    beltline = await startBeltline({ roles: ['collector'], port: 18081, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_MAX_BODY_BYTES: '20000' } });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
  });

  const post = (path: string, body: string, contentType = 'application/json') =>
    fetch(`${beltline.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('answers 200 for a tp2 batch only once it is in Kafka', async () => {
    const before = await recordCount(topic);
    const res = await post(TP2, JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000001')));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ accepted: 1 });
    expect(await recordCount(topic)).toBe(before + 1);
  });

  it.each([
    ['not JSON', '{"schema": ', /JSON/i],
    ['a wrong schema', JSON.stringify({ schema: 'iglu:com.acme/x/jsonschema/1-0-0', data: [{ e: 'pv' }] }), /payload_data/],
    ['empty data', JSON.stringify({ schema: goodBody('x').schema, data: [] }), /non-empty array/],
    ['an event without "e"', JSON.stringify({ schema: goodBody('x').schema, data: [{ eid: 'x' }] }), /data\[0\] has no event type/],
    ['a non-object event', JSON.stringify({ schema: goodBody('x').schema, data: [{ e: 'pv' }, 'x'] }), /data\[1\] is not an object/],
  ])('refuses a tp2 body with %s: 400 with the reason, nothing written', async (_what, body, reason) => {
    const before = await recordCount(topic);
    const res = await post(TP2, body);
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: string; message: string };
    expect(err.error).toBe('bad_request');
    expect(err.message).toMatch(reason);
    expect(await recordCount(topic)).toBe(before);
  });

  it('refuses a body over the size limit with 413', async () => {
    const big = goodBody('b');
    big.data[0].url = `https://example.com/${'x'.repeat(30000)}`;
    const res = await post(TP2, JSON.stringify(big));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe('payload_too_large');
  });

  it('takes plain JSON events and answers 400 for a non-object', async () => {
    const ok = await post('/api/v1/events/test-json', JSON.stringify([{ userId: 'u1' }, { userId: 'u2' }]));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accepted: 2 });
    const bad = await post('/api/v1/events/test-json', JSON.stringify([1, 2]));
    expect(bad.status).toBe(400);
    const unknown = await post('/api/v1/events/no-such-type', JSON.stringify({ a: 1 }));
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/no event type "no-such-type"/);
  });

  it('sets the sp network-user-id cookie once and keeps it; none for anonymous trackers', async () => {
    const first = await post(TP2, JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000005')));
    const cookie = first.headers.get('set-cookie') ?? '';
    const m = /^sp=([0-9a-f-]{36});/.exec(cookie);
    expect(m).not.toBeNull();
    expect(cookie).toMatch(/SameSite=None/i);
    const again = await fetch(`${beltline.url}${TP2}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `sp=${m?.[1]}` },
      body: JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000006')),
    });
    expect(again.headers.get('set-cookie')).toContain(`sp=${m?.[1]};`);
    const anonymous = await fetch(`${beltline.url}${TP2}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sp-anonymous': '*' },
      body: JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000007')),
    });
    expect(anonymous.status).toBe(200);
    expect(anonymous.headers.get('set-cookie')).toBeNull();
  });

  it('lets browser trackers post cross-origin with credentials (CORS)', async () => {
    const res = await fetch(`${beltline.url}${TP2}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('answers GET /i with the pixel', async () => {
    const res = await fetch(`${beltline.url}/i?e=pv&eid=a0c4fd1e-0000-4000-8000-000000000002&p=web&tv=test`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
  });

  it('answers 503, never 200, while Kafka is down, and 200 again once it is back', async () => {
    const cfg = loadConfig();
    await stackDown(cfg, { only: ['kafka'] });
    try {
      const res = await post(TP2, JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000003')));
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: string }).error).toBe('unavailable');
    } finally {
      await stackUp(cfg, { only: ['kafka'] });
    }
    let status = 0;
    for (let i = 0; i < 30 && status !== 200; i++) {
      status = (await post(TP2, JSON.stringify(goodBody('a0c4fd1e-0000-4000-8000-000000000004')))).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(status).toBe(200);
  }, 180_000);
});
