import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';
import { metric } from '../support/metrics';

/**
 * A poison batch does not stall its bridge. A trigger in the lane's database refuses this run's
 * poison events for real, so their batch's transaction fails on every attempt and the batch retries
 * through its policy (a thousand attempts here). With one slot in flight, the batch behind it must
 * still be started once the poison one has held its slot for BATCH_SLOT_TIMEOUT, and its events
 * applied; and once the trigger is gone the poison batch's next attempt applies its events too,
 * each once. Before the slot timeout the second batch waited for the poison one's whole policy.
 */
const PORT = 18490;
const METRICS_PORT = 18491;
const PER_REQUEST = 10;

describe('a batch that keeps failing', () => {
  const cfg = loadConfig();
  const run = `poison${Date.now().toString(36)}`;
  const trigger = `refuse_${run}`;
  let pool: Pool;
  let beltline: BeltlineProcess | undefined;
  let connection: Connection | undefined;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await pool.query(`DROP TRIGGER IF EXISTS ${trigger} ON event_ids`).catch(() => undefined);
    await pool.query(`DROP FUNCTION IF EXISTS ${trigger}()`).catch(() => undefined);
    await beltline?.stop();
    await connection?.close();
    await pool.end();
  });

  const count = async (user: string): Promise<number | undefined> =>
    (await pool.query<{ n: number | null }>("SELECT (document->>'count')::int AS n FROM profiles WHERE id = $1", [user])).rows[0]?.n ?? undefined;

  async function send(kind: 'poison' | 'good'): Promise<void> {
    const events = Array.from({ length: PER_REQUEST }, (_, i) => ({ eventId: `${run}-${kind}-${i}`, correlationId: `${run}-${kind}-user`, kind: 'tick' }));
    const res = await fetch(`${beltline?.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(res.status).toBe(200);
  }

  it('gives up its slot after BATCH_SLOT_TIMEOUT, so the next batch is applied; and is applied itself once mended', async () => {
    const { topic, group } = await freshTopic('poison-batch', 1);
    await pool.query(`CREATE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the poison-batch test: %', NEW.event_id; END $$`);
    await pool.query(`CREATE TRIGGER ${trigger} BEFORE INSERT ON event_ids FOR EACH ROW WHEN (NEW.event_id LIKE '${run}-poison-%') EXECUTE FUNCTION ${trigger}()`);
    beltline = await startBeltline({
      port: PORT,
      env: {
        BELTLINE_RAW_TOPIC: topic,
        BELTLINE_CONSUMER_GROUP: group,
        BELTLINE_TASK_QUEUE: run,
        BELTLINE_METRICS_PORT: String(METRICS_PORT),
        BATCH_MAX_IN_FLIGHT: '1',
        BATCH_SLOT_TIMEOUT: '3s',
        // Retries a second apart, for longer than the test runs: the batch is poison until mended.
        BELTLINE_ACTIVITY_MAX_ATTEMPTS: '1000',
        BELTLINE_ACTIVITY_MAX_INTERVAL: '1s',
      },
    });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });

    await send('poison');
    // The poison batch is cut and started before the good events arrive, so they are a batch of their own.
    const [poisonBatch] = await waitFor('the poison batch started', async () => {
      const found: string[] = [];
      for await (const wf of client.workflow.list({ query: `BeltlineSource = '${topic}'` })) found.push(wf.workflowId);
      return found.length > 0 ? found : undefined;
    });
    // The worker's log says why the batch retries (the SDK's error, under pino's `err`).
    await waitFor('the poison batch failing, and the log saying why', async () => (beltline?.output().includes('refused by the poison-batch test') ? true : undefined));

    await send('good');
    expect(await waitFor('the good events applied while the poison batch retries', async () => ((await count(`${run}-good-user`)) === PER_REQUEST ? true : undefined), 60_000)).toBe(true);
    expect((await client.workflow.getHandle(poisonBatch).describe()).status.name).toBe('RUNNING');
    expect(await count(`${run}-poison-user`)).toBeUndefined();
    expect(beltline.output()).toContain('a batch is still running');
    expect(metric(await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text(), 'beltline_bridge_slow_batches_total')).toBeGreaterThanOrEqual(1);

    // Mended: the next attempt applies the poison batch's events, once.
    await pool.query(`DROP TRIGGER ${trigger} ON event_ids`);
    await waitFor('the poison batch applied once mended', async () => ((await count(`${run}-poison-user`)) === PER_REQUEST ? true : undefined), 60_000);
    await waitFor('the poison batch completed', async () => ((await client.workflow.getHandle(poisonBatch).describe()).status.name === 'COMPLETED' ? true : undefined));
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id LIKE $1', [`${run}-%`]);
    expect(rows[0].n).toBe(2 * PER_REQUEST);
    expect([await count(`${run}-good-user`), await count(`${run}-poison-user`)]).toEqual([PER_REQUEST, PER_REQUEST]);
  }, 180_000);
});
