/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it stops PostgreSQL.
 *
 * @stack exclusive
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import type { IngestBatchInput } from '../../src/batches/record';
import type { FailedBatch } from '../../src/replay/replay';
import { stackDown, stackUp } from '../../src/stack';
import { admin, startBeltline, testPool, waitFor, type BeltlineProcess, runCli } from '../support/beltline';
import { metric } from '../support/metrics';
import { freshTopic } from '../support/kafka';
import { sendEvents } from '../support/tracker';


const cli = (env: Record<string, string>, ...args: string[]): ReturnType<typeof runCli> => runCli(args, { BELTLINE_LOG_LEVEL: 'warn', ...env });


describe('failed batches: replay after a PostgreSQL outage and past Kafka retention', () => {
  const s = Date.now().toString(36);
  const queue = `replay-test-${s}`;
  const cfg = loadConfig();
  // The bridge's metrics (consumer lag) and the worker's (batches failed): one process per role.
  const metricsUrl = 'http://127.0.0.1:18121/metrics';
  const workerMetricsUrl = 'http://127.0.0.1:18123/metrics';
  let pool: Pool;
  let beltline: BeltlineProcess;
  let worker: BeltlineProcess;
  let temporal: Connection;
  let client: Client;
  let env: Record<string, string>;

  beforeAll(async () => {
    pool = testPool();
    // Its idle connections die with the server: that must not take the test process down.
    pool.on('error', () => undefined);
    temporal = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection: temporal, namespace: cfg.TEMPORAL_NAMESPACE });
    const { topic, group } = await freshTopic('replay-test');
    env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue };
    // A short retry policy: batches fail within the few seconds PostgreSQL is away.
    const retry = { BELTLINE_ACTIVITY_MAX_ATTEMPTS: '2', BELTLINE_ACTIVITY_MAX_INTERVAL: '1s' };
    // The worker is held while batches are started: the bridge must not stop at its in-flight limit.
    beltline = await startBeltline({ port: 18120, roles: ['collector', 'bridge'], env: { ...env, ...retry, BELTLINE_METRICS_PORT: '18121', BATCH_MAX_IN_FLIGHT: '100' } });
    worker = await startBeltline({ port: 18122, roles: ['worker'], env: { ...env, ...retry, BELTLINE_METRICS_PORT: '18123' } });
  }, 120_000);

  afterAll(async () => {
    await stackUp(cfg, { only: ['postgres'] }).catch(() => undefined);
    worker?.child.kill('SIGCONT');
    await worker?.stop();
    await beltline?.stop();
    await pool?.end();
    await temporal?.close();
  }, 60_000);

  const count = async (user: string): Promise<number | undefined> =>
    (await pool.query<{ n: number | null }>("SELECT (document->>'count')::int AS n FROM profiles WHERE id = $1", [user])).rows[0]?.n ?? undefined;

  it('lists the batches that failed, replays them, and applies every event exactly once', async () => {
    // The pipeline works before the outage (and the belt's worker is up).
    await sendEvents({ port: 18120, count: 2, userId: `warm-${s}` });
    await waitFor('the warm-up events', async () => ((await count(`warm-${s}`)) === 2 ? true : undefined));
    const before = await (await fetch(workerMetricsUrl)).text();

    const users = [`a-${s}`, `b-${s}`, `c-${s}`, `d-${s}`];
    const failed = `WorkflowType = 'ingestBatch' AND ExecutionStatus = 'Failed' AND TaskQueue = '${queue}'`;
    const running = `WorkflowType = 'ingestBatch' AND ExecutionStatus = 'Running' AND TaskQueue = '${queue}'`;
    // The bridge stages batches in PostgreSQL before it starts them, so a batch can only fail on a
    // worker: hold the worker (SIGSTOP) while the batches are staged and started, then take
    // PostgreSQL away and let the worker go on.
    const startedTotal = async (): Promise<number> =>
      metric(await fetch(metricsUrl).then((res) => res.text()), 'beltline_batches_started_total', { topic: env.BELTLINE_RAW_TOPIC });
    const startedBefore = await startedTotal();
    worker.child.kill('SIGSTOP');
    let failedCount: number;
    let started = 0;
    try {
      // Apart by more than the bridge's linger, so they make several batches.
      for (const u of users) {
        await sendEvents({ port: 18120, count: 5, userId: u });
        await new Promise((r) => setTimeout(r, 700));
      }
      await waitFor('every batch started', async () => {
        const lag = await fetch(metricsUrl).then((res) => res.text()).then((t) => metric(t, 'beltline_consumer_lag', { group: env.BELTLINE_CONSUMER_GROUP }));
        const r = (await client.workflow.count(running)).count;
        started = (await startedTotal()) - startedBefore;
        return lag === 0 && r >= 2 && r === started ? true : undefined;
      });
      await stackDown(cfg, { only: ['postgres'] });
      worker.child.kill('SIGCONT');
      failedCount = await waitFor(
        'every batch to fail',
        async () => {
          // Visibility trails the server under load: wait until it shows every started batch failed.
          const f = (await client.workflow.count(failed)).count;
          const r = (await client.workflow.count(running)).count;
          return f === started && r === 0 ? f : undefined;
        },
        60_000,
      );
    } finally {
      worker.child.kill('SIGCONT');
      await stackUp(cfg, { only: ['postgres'] });
    }
    for (const u of users) expect(await count(u)).toBeUndefined();

    // The worker counted them as failed batches.
    const afterOutage = await (await fetch(workerMetricsUrl)).text();
    expect(metric(afterOutage, 'beltline_batches_failed_total') - metric(before, 'beltline_batches_failed_total')).toBe(failedCount);

    // `replay list` finds them through Temporal visibility, with their event type, and filters.
    const listed = await cli(env, 'replay', 'list', '--json');
    expect(listed.code).toBe(0);
    const batches = JSON.parse(listed.stdout) as FailedBatch[];
    expect(batches).toHaveLength(failedCount);
    for (const b of batches) {
      expect(b.workflowId).toMatch(new RegExp(`^ingest-${env.BELTLINE_RAW_TOPIC}-p\\d+-o\\d+-\\d+$`));
      expect(b.eventTypes).toEqual(['snowplow']);
      expect(b.source).toBe(env.BELTLINE_RAW_TOPIC);
      expect(b.reason).not.toBe('');
    }
    expect(JSON.parse((await cli(env, 'replay', 'list', '--json', '--event-type', 'snowplow', '--since', '10m')).stdout)).toHaveLength(failedCount);
    expect(JSON.parse((await cli(env, 'replay', 'list', '--json', '--event-type', `nope-${s}`)).stdout)).toEqual([]);
    expect((await cli(env, 'replay', 'list')).stdout).toMatch(new RegExp(`${batches[0].workflowId}  types=snowplow`));
    // Another deployment (task queue) sees none of them.
    expect(JSON.parse((await cli({ ...env, BELTLINE_TASK_QUEUE: `other-${s}` }, 'replay', 'list', '--json')).stdout)).toEqual([]);

    expect(failedCount).toBeGreaterThanOrEqual(2);

    // Kafka's retention passes: the topic no longer has the records. Replay reads them from where
    // the bridge staged them.
    const kafkaAdmin = createKafka(cfg, 'beltline-test').admin();
    await kafkaAdmin.connect();
    try {
      for (const p of await kafkaAdmin.fetchTopicOffsets(env.BELTLINE_RAW_TOPIC)) {
        await kafkaAdmin.deleteTopicRecords({ topic: env.BELTLINE_RAW_TOPIC, partitions: [{ partition: p.partition, offset: p.high }] });
      }
      const low = await kafkaAdmin.fetchTopicOffsets(env.BELTLINE_RAW_TOPIC);
      expect(low.every((p) => p.low === p.high)).toBe(true);
    } finally {
      await kafkaAdmin.disconnect();
    }

    // One through the admin API, the others with the CLI: every event applied exactly once.
    const api = await admin(beltline.url, 'POST', '/projects/default/replays', { workflowId: batches[1].workflowId });
    expect(api.status).toBe(202);
    expect(await api.json()).toEqual({ replays: [{ outcome: 'started', workflowId: batches[1].workflowId, runId: expect.any(String), replayOf: batches[1].runId }] });
    const run = await cli(env, 'replay', 'run', '--all');
    expect(run.stdout).toMatch(new RegExp(`replay finished: ${failedCount - 1} batches replayed, ${failedCount - 1} completed, 0 failed again`));
    expect(run.code).toBe(0);
    await waitFor('every replayed event', async () => ((await Promise.all(users.map(count))).every((n) => n === 5) ? true : undefined), 30_000);
    // Settled: nothing more arrives.
    await new Promise((r) => setTimeout(r, 1500));
    for (const u of users) expect(await count(u)).toBe(5);
    expect(JSON.parse((await cli(env, 'replay', 'list', '--json')).stdout)).toEqual([]);

    // The replay is a new run of the same workflow id, marked as a replay of the failed one.
    const first = batches[0];
    const latest = await client.workflow.getHandle(first.workflowId).describe();
    expect(latest.status.name).toBe('COMPLETED');
    expect(latest.runId).not.toBe(first.runId);
    expect(latest.memo).toEqual({ replayOf: first.runId });

    // A second replay of the same batch is recognised and starts nothing.
    const again = await cli(env, 'replay', 'run', first.workflowId);
    expect(again.stdout).toMatch(/already completed; nothing to replay/);
    expect(again.code).toBe(0);

    // Even a further run of the batch's very input (any id) applies nothing twice (guarantee 2).
    const history = await client.workflow.getHandle(first.workflowId, first.runId).fetchHistory();
    const input = fromPayloadsAtIndex<IngestBatchInput>(defaultPayloadConverter, 0, history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads);
    const extra = await client.workflow.execute('ingestBatch', { taskQueue: queue, workflowId: `${first.workflowId}-verify`, args: [input] });
    expect(extra).toMatchObject({ applied: 0 });
    expect((extra as { events: number }).events).toBeGreaterThan(0);
    for (const u of users) expect(await count(u)).toBe(5);

    // Naming no batch, or something that is not one, is refused.
    expect((await cli(env, 'replay', 'run')).stderr).toMatch(/name one batch \(its workflow id\) or --all/);
  }, 240_000);

  it('answers the admin API: list, bad requests, nothing to replay', async () => {
    const list = await admin(beltline.url, 'GET', '/projects/default/replays?since=1h');
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([]);
    const none = await admin(beltline.url, 'POST', '/projects/default/replays', {});
    expect(none.status).toBe(400);
    const missing = await admin(beltline.url, 'POST', '/projects/default/replays', { workflowId: `no-such-${s}` });
    expect(missing.status).toBe(404);
    const all = await admin(beltline.url, 'POST', '/projects/default/replays', { all: true });
    expect(all.status).toBe(202);
    expect(await all.json()).toEqual({ replays: [] });
    expect((await fetch(`${beltline.url}/projects/default/replays`)).status).toBe(401);
  }, 60_000);
});
