import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import { ADD_TO_CART } from '../support/tracker';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { endOffsets, freshTopic, writtenSince } from '../support/kafka';

/**
 * Guarantee 6 on the real stack: whatever one record carries, it is stored or becomes a bad row,
 * and the rest of its batch goes on; and an event is one event by its id, whatever its times.
 */
describe('records that must not hold up a batch', () => {
  const s = Date.now().toString(36);
  const queue = `hostile-${s}`;
  const cfg = loadConfig();
  let pool: Pool;
  let beltline: BeltlineProcess;
  let connection: Connection;
  let client: Client;
  let topic: string;
  // A type whose time comes from the event, for the collector's timestamp bounds.
  const timedType = { ...TEST_JSON_TYPE, name: `hostile-timed-${s}`, displayName: `Hostile timed ${s}`, timestampExpression: '$.ts' };
  // A type whose ids need nothing from the event: any object is an event of it.
  const anyType = { ...TEST_JSON_TYPE, name: `hostile-any-${s}`, displayName: `Hostile any ${s}`, eventIdExpression: '#randomUUID()', correlationIdExpression: '#randomUUID()' };

  beforeAll(async () => {
    pool = testPool();
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    let group: string;
    ({ topic, group } = await freshTopic('hostile', 2));
    // Requests of up to 5,000 events, so that one request can make a batch of 3,000.
    beltline = await startBeltline({
      port: 18172,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue, BELTLINE_MAX_EVENTS_PER_REQUEST: '5000' },
    });
    for (const t of [TEST_JSON_TYPE, timedType, anyType]) await ensureEventType(beltline.url, t);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await connection?.close();
    await pool?.end();
  }, 30_000);

  const tp2 = (events: Record<string, string>[]): Promise<Response> =>
    fetch(`${beltline.url}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: events }),
    });
  const event = (eid: string, uid: string, dtm: number, stm: number): Record<string, string> => ({
    e: 'se', eid, uid, se_ca: 'shop', se_ac: 'click', p: 'srv', tv: 'test', dtm: String(dtm), stm: String(stm),
  });
  const count = async (user: string): Promise<number | undefined> =>
    (await pool.query<{ n: number }>("SELECT (document->>'count')::int AS n FROM profiles WHERE id = $1", [user])).rows[0]?.n;
  const batches = async (status: string): Promise<number> =>
    (await client.workflow.count(`WorkflowType = 'ingestBatch' AND TaskQueue = '${queue}' AND ExecutionStatus = '${status}'`)).count;

  const json = (type: string, body: unknown): Promise<Response> =>
    fetch(`${beltline.url}/api/v1/events/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const badRowsAbout = async (marker: string): Promise<{ type: string; bad_row: { data: { failure: { messages?: { field: string; error: string }[] } } } }[]> =>
    (await pool.query('SELECT type, bad_row FROM bad_rows WHERE bad_row::text LIKE $1', [`%${marker}%`])).rows;

  it('the collector refuses a request with an event out of bounds: 400 naming the event and field, nothing written to Kafka', async () => {
    const now = Date.now();
    const ok = event(crypto.randomUUID(), `carol-${s}`, now, now);
    const before = await endOffsets(topic);
    const cases: [string, () => Promise<Response>, { index: number | null; field: string }][] = [
      ['a 4,000-character eid', () => tp2([ok, event('x'.repeat(4000), `mallory-${s}`, now, now)]), { index: 1, field: 'eid' }],
      ['a 300-character uid', () => tp2([event(crypto.randomUUID(), 'u'.repeat(300), now, now)]), { index: 0, field: 'uid' }],
      ['a 300-character duid', () => tp2([{ ...ok, duid: 'd'.repeat(300) }]), { index: 0, field: 'duid' }],
      ['a 300-character tnuid', () => tp2([ok, ok, { ...ok, tnuid: 'n'.repeat(300) }]), { index: 2, field: 'tnuid' }],
      ['dtm 1e300', () => tp2([{ ...ok, dtm: '1e300' }]), { index: 0, field: 'dtm' }],
      ['a negative stm', () => tp2([{ ...ok, stm: '-62198755200000' }]), { index: 0, field: 'stm' }],
      ['ttm after year 9999', () => tp2([{ ...ok, ttm: '253402300800000' }]), { index: 0, field: 'ttm' }],
      ['a non-numeric dtm', () => tp2([{ ...ok, dtm: 'yesterday' }]), { index: 0, field: 'dtm' }],
      ['a 200 KB url', () => tp2([{ ...ok, url: `https://x.example/${'p'.repeat(200_000)}` }]), { index: 0, field: 'url' }],
      ['5,001 tracker events', () => tp2(Array.from({ length: 5001 }, () => ok)), { index: null, field: 'data' }],
      ['a GET /i with a 300-character eid', () => fetch(`${beltline.url}/i?e=pv&eid=${'x'.repeat(300)}`), { index: 0, field: 'eid' }],
      ['a JSON time of 1e300', () => json(timedType.name, [{ eventId: 'a', correlationId: 'b', ts: 1e300 }]), { index: 0, field: '$.ts' }],
      ['a JSON time in year 0', () => json(timedType.name, [{ eventId: 'a', correlationId: 'b', ts: now }, { eventId: 'c', correlationId: 'b', ts: '0000-01-01T00:00:00Z' }]), { index: 1, field: '$.ts' }],
      ['a non-numeric JSON time', () => json(timedType.name, { eventId: 'a', correlationId: 'b', ts: 'soon' }), { index: 0, field: '$.ts' }],
      ['a 4,000-character JSON event id', () => json(TEST_JSON_TYPE.name, { eventId: 'x'.repeat(4000), correlationId: 'b' }), { index: 0, field: '$.eventId' }],
      ['a 200 KB JSON string', () => json(TEST_JSON_TYPE.name, { eventId: 'a', correlationId: 'b', note: 'n'.repeat(200_000) }), { index: 0, field: '$.note' }],
      ['JSON nested 101 deep', () => json(TEST_JSON_TYPE.name, { eventId: 'a', correlationId: 'b', deep: JSON.parse(`${'['.repeat(101)}${']'.repeat(101)}`) as unknown }), { index: 0, field: expect.stringMatching(/^\$\.deep(\[0\])+$/) as unknown as string }],
      ['5,001 JSON events', () => json(anyType.name, Array.from({ length: 5001 }, () => ({}))), { index: null, field: 'events' }],
    ];
    const answers: Record<string, unknown> = {};
    for (const [name, send] of cases) {
      const res = await send();
      const body = (await res.json()) as { error: string; message: string; details?: { index: number | null; field: string } };
      answers[name] = { status: res.status, error: body.error, index: body.details?.index, field: body.details?.field, named: body.message.includes(String(body.details?.field)) };
    }
    expect(answers).toEqual(Object.fromEntries(cases.map(([name, , where]) => [name, { status: 400, error: 'bad_request', ...where, named: true }])));
    expect(await writtenSince(topic, before)).toEqual([]);
  }, 120_000);

  it('records already in Kafka with an event id too long, a NUL, a lone surrogate or deep nesting become bad rows; the other events of the batch are applied', async () => {
    // Written straight to the raw topic, as another producer (or an older collector) could: the
    // worker is the second line of defence.
    const producer = createKafka(cfg, 'hostile-test').producer();
    await producer.connect();
    const now = Date.now();
    const marker = `kafka-${s}`;
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const events = [
      `{"eventId":"${'x'.repeat(4000)}","correlationId":"${marker}-long"}`,
      `{"eventId":"${marker}-nul","correlationId":"${marker}-nul","note":"a\\u0000b"}`,
      `{"eventId":"${marker}-nulkey","correlationId":"${marker}-nulkey","a\\u0000":1}`,
      `{"eventId":"${marker}-lone","correlationId":"${marker}-lone","note":"a\\ud800b"}`,
      `{"eventId":"${marker}-deep","correlationId":"${marker}-deep","deep":${deep}}`,
      `{"eventId":"${marker}-nulid\\u0000","correlationId":"${marker}-nulid"}`,
      `{"eventId":"${marker}-ok","correlationId":"dave-${s}"}`,
    ];
    const value = `{"kind":"json","collector":"test","timestamp":${now},"eventType":"${TEST_JSON_TYPE.name}","events":[${events.join(',')}]}`;
    await producer.send({ topic, messages: [{ value }] });
    await producer.disconnect();
    await waitFor("dave's event applied", async () => ((await count(`dave-${s}`)) === 1 ? true : undefined), 90_000);
    for (const who of ['long', 'nul', 'nulkey', 'lone', 'deep', 'nulid']) expect(await count(`${marker}-${who}`)).toBeUndefined();
    const rows = await badRowsAbout(marker);
    const fields = rows.flatMap((r) => r.bad_row.data.failure.messages?.map((m) => m.field.replace(/(\[0\]){10,}$/, '[0]…')) ?? []).sort();
    expect(fields).toEqual(['$.deep[0]…', '$.note', '$.note', '$["a\ufffd"]', 'eventId', 'eventIdExpression'].sort());
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined));
    expect(await batches('Failed')).toBe(0);
  }, 150_000);

  it('a NUL or a lone surrogate in a JSON event or a tracker event makes a bad row through the collector; the request\'s other events are applied', async () => {
    const now = Date.now();
    const marker = `http-${s}`;
    const jsonRes = await fetch(`${beltline.url}/api/v1/events/${TEST_JSON_TYPE.name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `[{"eventId":"${marker}-j1","correlationId":"${marker}-j1","note":"a\\u0000b"},{"eventId":"${marker}-j2","correlationId":"${marker}-j2","note":"a\\udc00b"},{"eventId":"${crypto.randomUUID()}","correlationId":"erin-${s}"}]`,
    });
    expect(jsonRes.status).toBe(200);
    const cart = (sku: string) => JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: ADD_TO_CART, data: { sku, quantity: 1 } } });
    const tp2Res = await tp2([
      { ...event(crypto.randomUUID(), `${marker}-t1`, now, now), e: 'ue', ue_pr: cart(`${marker}-t1\u0000`) },
      { ...event(crypto.randomUUID(), `${marker}-t2`, now, now), e: 'ue', ue_pr: cart(`${marker}-t2\ud800`) },
      event(crypto.randomUUID(), `frank-${s}`, now, now),
    ]);
    expect(tp2Res.status).toBe(200);
    await waitFor("erin's and frank's events applied", async () => ((await count(`erin-${s}`)) === 1 && (await count(`frank-${s}`)) === 1 ? true : undefined), 90_000);
    for (const who of ['j1', 'j2', 't1', 't2']) expect(await count(`${marker}-${who}`)).toBeUndefined();
    const rows = await badRowsAbout(marker);
    expect(rows.map((r) => r.type).sort()).toEqual(['adapter_failures', 'adapter_failures', 'adapter_failures', 'adapter_failures']);
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined));
    expect(await batches('Failed')).toBe(0);
  }, 150_000);

  it('an event at the last millisecond of year 9999 is stored (its month partition ends at 10000-01-01)', async () => {
    const eid = crypto.randomUUID();
    const now = Date.now();
    expect((await tp2([{ ...event(eid, `zed-${s}`, now, now), ttm: '253402300799999' }])).status).toBe(200);
    await waitFor("zed's event applied", async () => ((await count(`zed-${s}`)) === 1 ? true : undefined), 90_000);
    const { rows } = await pool.query<{ created: string }>("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS created FROM events WHERE event_id = $1", [eid]);
    expect(rows).toEqual([{ created: '9999-12-31 23:59:59.999' }]);
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined));
    expect(await batches('Failed')).toBe(0);
  }, 120_000);

  it('one request of 3,000 empty events makes a batch that completes: 3,000 events stored, or 3,000 bad rows', async () => {
    const before = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE event_type = $1", [anyType.name]);
    const badBefore = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM bad_rows WHERE type = 'adapter_failures'");
    expect((await json(anyType.name, Array.from({ length: 3000 }, () => ({})))).status).toBe(200);
    // Without ids, test-json's events are 3,000 bad rows.
    expect((await json(TEST_JSON_TYPE.name, Array.from({ length: 3000 }, () => ({})))).status).toBe(200);
    await waitFor('3,000 events stored', async () => {
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_type = $1', [anyType.name]);
      return rows[0].n - before.rows[0].n >= 3000 ? rows[0].n - before.rows[0].n : undefined;
    }, 120_000);
    await waitFor('3,000 bad rows stored', async () => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM bad_rows WHERE type = 'adapter_failures'");
      return rows[0].n - badBefore.rows[0].n >= 3000 ? true : undefined;
    }, 120_000);
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined), 120_000);
    expect(await batches('Failed')).toBe(0);
  }, 300_000);

  it('a tracker retry of the same eid with new timestamps is applied once', async () => {
    const eid = crypto.randomUUID();
    const t = Date.now();
    // The tracker's retry: same event (eid, dtm), sent again later (stm), so its derived time differs.
    expect((await tp2([event(eid, `bob-${s}`, t - 5000, t - 4000)])).status).toBe(200);
    await waitFor("bob's first send applied", async () => ((await count(`bob-${s}`)) === 1 ? true : undefined));
    expect((await tp2([event(eid, `bob-${s}`, t - 5000, t)])).status).toBe(200);
    // A marker event after the retry: once it is in, the retry has been through the pipeline too.
    expect((await tp2([event(crypto.randomUUID(), `bob-marker-${s}`, t, t)])).status).toBe(200);
    await waitFor('the marker applied', async () => ((await count(`bob-marker-${s}`)) === 1 ? true : undefined));
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined));
    expect(await count(`bob-${s}`)).toBe(1);
    const stored = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = $1', [eid]);
    expect(stored.rows[0].n).toBe(1);
    expect(await batches('Failed')).toBe(0);
  }, 120_000);
});
