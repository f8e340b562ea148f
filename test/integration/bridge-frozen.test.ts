import type { Pool } from 'pg';
import { CONSUMER_SESSION_TIMEOUT_MS } from '../../src/bridge/bridge';
import { testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { closedBatchCoverage, startSplitPipeline } from '../support/batches';

/**
 * Guarantee 7: a bridge process frozen (SIGSTOP) for longer than its Kafka session, as a paused
 * VM or a stalled host would freeze it, is dropped from its consumer group by the coordinator.
 * When it runs again (SIGCONT) its heartbeats and commits are refused; it must consume again by
 * itself, however kafkajs classified that error, and every record must end in a completed batch.
 */
describe('a bridge frozen for longer than its Kafka session', () => {
  const run = `bfrozen-${Date.now().toString(36)}`;
  let pool: Pool;
  const procs: BeltlineProcess[] = [];

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.pid && p.child.exitCode === null) p.child.kill('SIGCONT');
      await p.stop();
    }
    await pool.end();
  }, 60_000);

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('consumes again when it wakes, and every record ends in a completed batch', async () => {
    const { topic, bridge, ids, send, applied } = await startSplitPipeline({ run, topicPrefix: 'bridge-frozen', ports: [18165, 18166], pool, procs });

    await send('before');
    await waitFor('the events before the freeze', async () => ((await applied()) === ids.length ? true : undefined));

    bridge.child.kill('SIGSTOP');
    const frozenMs = 2 * CONSUMER_SESSION_TIMEOUT_MS + 5000;
    for (let t = 0; t < frozenMs; t += 1000) {
      await send(`frozen-${t}`);
      await sleep(1000);
    }
    expect(await applied()).toBeLessThan(ids.length);
    bridge.child.kill('SIGCONT');
    await send('after');

    await waitFor('every event applied', async () => ((await applied()) === ids.length ? true : undefined), 120_000);
    for (const p of procs) {
      expect(p.child.exitCode).toBeNull();
      expect(p.child.signalCode).toBeNull();
    }
    // Records sent after everything above was applied: the consumer still runs, not only its last fetch.
    await send('later');
    await waitFor('the events sent later', async () => ((await applied()) === ids.length ? true : undefined), 60_000);
    const coverage = await closedBatchCoverage(topic);
    expect(coverage.statuses).toEqual(['COMPLETED']);
    expect(coverage.uncovered).toEqual({ 0: [], 1: [] });
  }, 300_000);
});
