import type { Pool } from 'pg';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { closedBatchCoverage } from '../support/batches';
import { freshTopic } from '../support/kafka';

/**
 * Guarantee 2, the worker side: the worker is killed (-9) in the middle of applying a batch —
 * inside the transaction, or after its commit but before Temporal heard the step finish — both
 * for a belt run inside the batch's step (`counter`, no scale) and for one on its own task queue
 * (`passthrough`, scale 1). A second worker takes the retried step over; every event still counts
 * exactly once. The collector runs in a process of its own, which is not killed: a crash may come
 * before the last request is sent (the first batch can be applied by then), and the events must
 * all be in Kafka whatever the worker does.
 */
describe.each([
  ['inside the apply transaction', 'worker-crash-before-commit', 18142],
  ['after the commit, before the activity completed', 'worker-crash-after-commit', 18144],
  ['inside the apply transaction of a belt on its own task queue', 'worker-crash-before-commit:applyBatch', 18146],
])('worker killed %s', (_what, fault, port) => {
  const USERS = 5;
  const PER_USER = 20;
  const runId = `wcrash-${fault.slice(13).replace(/[^a-z]/gi, '')}-${Date.now().toString(36)}`;
  let pool: Pool;
  let collector: BeltlineProcess | undefined;
  let crashing: BeltlineProcess | undefined;
  let survivor: BeltlineProcess | undefined;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await survivor?.stop();
    await crashing?.stop();
    await collector?.stop();
    await pool.end();
  });

  it('applies every event exactly once', async () => {
    const { topic, group } = await freshTopic('worker-crash');
    // A short step timeout: Temporal notices the dead worker's activity after 5 s, not 2 min.
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: runId, BELTLINE_ACTIVITY_TIMEOUT: '5s' };
    collector = await startBeltline({ roles: ['collector'], port, env });
    crashing = await startBeltline({ roles: ['bridge', 'worker'], port: port + 1, env: { ...env, BELTLINE_FAULT: fault } });
    await ensureEventType(collector.url, TEST_JSON_TYPE);
    const exited = new Promise<void>((resolve) => crashing?.child.once('exit', () => resolve()));

    const ids: string[] = [];
    for (let r = 0; r < (USERS * PER_USER) / 10; r++) {
      const events = Array.from({ length: 10 }, (_, i) => {
        const n = r * 10 + i;
        ids.push(`${runId}-${n}`);
        // passthrough applies the updates the event carries: its own counter, beside counter's.
        return { eventId: `${runId}-${n}`, correlationId: `${runId}-user-${n % USERS}`, kind: 'tick', updates: [{ _operation: '_increment', _path: ['queued'], _value: { _v: 1 } }] };
      });
      const res = await fetch(`${collector.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
    }
    await exited;
    expect(crashing.child.signalCode).toBe('SIGKILL');
    const before = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND applied', [ids]);
    if (fault.startsWith('worker-crash-after-commit') || fault.endsWith(':applyBatch')) expect(before.rows[0].n).toBeGreaterThan(0); // it did commit (a step), then died
    crashing = undefined;

    survivor = await startBeltline({ roles: ['bridge', 'worker'], port: port + 1, env });
    await waitFor(
      'every event applied',
      async () => {
        const { rows } = await pool.query("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt IN ('counter', 'passthrough') AND applied", [ids]);
        return rows[0].n === 2 * ids.length ? true : undefined;
      },
      120_000,
    );
    // Once every batch workflow has closed, the retried step (the one the dead worker held) has run
    // too: no later application can come. Every record is in a completed batch.
    const coverage = await closedBatchCoverage(topic);
    expect(coverage.statuses).toEqual(['COMPLETED']);
    expect(Object.values(coverage.uncovered).flat()).toEqual([]);
    const { rows } = await pool.query<{ id: string; count: number; queued: number }>(
      `SELECT id, (document->>'count')::int AS count, (document->>'queued')::int AS queued FROM profiles WHERE id LIKE $1 ORDER BY id`,
      [`${runId}-user-%`],
    );
    expect(rows).toEqual(Array.from({ length: USERS }, (_, u) => ({ id: `${runId}-user-${u}`, count: PER_USER, queued: PER_USER })));
  }, 240_000);
});
