import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { createKafka } from '../../src/kafka/producer';
import { freshTopic } from '../support/kafka';

/**
 * Graceful shutdown, the worker's part (issue 16): SIGTERM lands while a batch's step is inside
 * its apply transaction (BELTLINE_FAULT pauses it there). The worker finishes that step before it
 * exits 0, so Temporal never has to time it out and give it to another; the batch completes, each
 * event counted once. The worker is probed on its metrics listener meanwhile.
 */
const PORT = 18430;
const USERS = 4;
const PER_USER = 5;

describe('a worker stopped with SIGTERM mid-batch', () => {
  const cfg = loadConfig();
  const run = `drain-${Date.now().toString(36)}`;
  let pool: Pool;
  let front: BeltlineProcess | undefined;
  let worker: BeltlineProcess | undefined;
  let survivor: BeltlineProcess | undefined;
  let connection: Connection | undefined;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await Promise.all([survivor?.stop(), worker?.stop(), front?.stop()]);
    await connection?.close();
    await pool.end();
  });

  it('drains: the step under way commits, the process exits 0, and the batch completes exactly once', async () => {
    const { topic, group } = await freshTopic('worker-drain');
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: run };
    [front, worker] = await Promise.all([
      startBeltline({ roles: ['collector', 'bridge'], port: PORT, env }),
      startBeltline({ roles: ['worker'], port: PORT + 1, env: { ...env, BELTLINE_METRICS_PORT: String(PORT + 2), BELTLINE_FAULT: 'worker-pause-before-commit' } }),
    ]);
    const probe = await fetch(`http://127.0.0.1:${PORT + 2}/ready`);
    expect(probe.status).toBe(200);
    expect(await probe.json()).toMatchObject({ status: 'ready', dependencies: { kafka: { status: 'up', required: true }, temporal: { status: 'up', required: true }, postgres: { status: 'up', required: true } } });

    await ensureEventType(front.url, TEST_JSON_TYPE);
    const ids = Array.from({ length: USERS * PER_USER }, (_, n) => `${run}-${n}`);
    // One request, one Kafka record, one batch.
    const events = ids.map((eventId, n) => ({ eventId, correlationId: `${run}-user-${n % USERS}`, kind: 'tick', updates: [{ _operation: '_increment', _path: ['queued'], _value: { _v: 1 } }] }));
    const res = await fetch(`${front.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(res.status).toBe(200);

    const w = worker;
    await waitFor('the step paused inside its transaction', async () => (w.output().includes('fault: pausing before commit') ? true : undefined));
    const exit = new Promise<number | null>((resolve) => w.child.once('exit', (code) => resolve(code)));
    w.child.kill('SIGTERM');
    // While it drains, its probe listener is still up and says so.
    const draining = await waitFor('/ready to answer 503 while draining', async () => {
      const r = await fetch(`http://127.0.0.1:${PORT + 2}/ready`);
      return r.status === 503 ? ((await r.json()) as { error: string }) : undefined;
    });
    expect(draining.error).toBe('shutting_down');
    expect(await exit).toBe(0);
    expect(w.output()).toContain('worker drained');
    worker = undefined;
    // Drained, not cancelled: the paused step committed before the process went (counter runs in it).
    const { rows: committed } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt = 'counter' AND applied", [ids]);
    expect(committed[0].n).toBe(ids.length);

    // What is left of the batch (passthrough's own task queue, the last steps) goes to another worker.
    survivor = await startBeltline({ roles: ['worker'], port: PORT + 3, env });
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const batches = await waitFor(
      'the batch workflow completed',
      async () => {
        const found: { workflowId: string; runId: string; status: string }[] = [];
        for await (const wf of client.workflow.list({ query: `BeltlineSource = '${topic}'` })) found.push({ workflowId: wf.workflowId, runId: wf.runId, status: wf.status.name });
        return found.length > 0 && found.every((b) => b.status === 'COMPLETED') ? found : undefined;
      },
      120_000,
    );
    expect(batches).toHaveLength(1);
    // No step was timed out or retried: the one SIGTERM interrupted ran to its end once.
    const history = (await client.workflow.getHandle(batches[0].workflowId, batches[0].runId).fetchHistory()).events ?? [];
    expect(history.filter((e) => e.workflowTaskTimedOutEventAttributes || e.workflowTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes || e.activityTaskFailedEventAttributes)).toEqual([]);
    expect(history.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toEqual([]);

    const { rows } = await pool.query<{ id: string; count: number; queued: number }>(
      `SELECT id, (document->>'count')::int AS count, (document->>'queued')::int AS queued FROM profiles WHERE id LIKE $1 ORDER BY id`,
      [`${run}-user-%`],
    );
    expect(rows).toEqual(Array.from({ length: USERS }, (_, u) => ({ id: `${run}-user-${u}`, count: PER_USER, queued: PER_USER })));

    // The bridge's part: on SIGTERM it stops consuming, every record it handed to Temporal committed, and exits 0.
    const f = front;
    const frontExit = new Promise<number | null>((resolve) => f.child.once('exit', (code) => resolve(code)));
    f.child.kill('SIGTERM');
    expect(await frontExit).toBe(0);
    front = undefined;
    expect(f.output()).toContain('bridge stopped consuming');
    const admin = createKafka(cfg, 'beltline-test').admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const ends = await admin.fetchTopicOffsets(topic);
      // Each partition with records is committed to its end (an empty one has nothing to commit).
      const written = ends.filter((e) => e.high !== '0');
      expect(written).toHaveLength(1);
      expect(written.map((e) => [e.partition, committed.partitions.find((p) => p.partition === e.partition)?.offset])).toEqual(written.map((e) => [e.partition, e.high]));
    } finally {
      await admin.disconnect();
    }
  }, 240_000);
});
