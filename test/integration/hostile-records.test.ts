import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

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

  beforeAll(async () => {
    pool = testPool();
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const { topic, group } = await freshTopic('hostile', 2);
    beltline = await startBeltline({ port: 18172, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue } });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await connection?.close();
    await pool?.end();
  });

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

  it('a 4,000-character event id becomes a bad row; the other user\'s event in the same request is applied', async () => {
    const now = Date.now();
    const res = await tp2([event('x'.repeat(4000), `mallory-${s}`, now, now), event(crypto.randomUUID(), `alice-${s}`, now, now)]);
    expect(res.status).toBe(200);
    await waitFor("alice's event applied", async () => ((await count(`alice-${s}`)) === 1 ? true : undefined));
    expect(await count(`mallory-${s}`)).toBeUndefined();
    const { rows } = await pool.query<{ type: string }>(
      'SELECT type, bad_row FROM bad_rows WHERE bad_row::text LIKE $1',
      [`%mallory-${s}%`],
    );
    expect(rows.map((r) => r.type)).toContain('tracker_protocol_violations');
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined));
    expect(await batches('Failed')).toBe(0);
  }, 120_000);

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
