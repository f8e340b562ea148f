/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it kills Temporal.
 *
 * @stack exclusive
 */
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { CONSUMER_SESSION_TIMEOUT_MS } from '../../src/bridge/bridge';
import { stackStatus, stackUp } from '../../src/stack';
import { isAlive } from '../../src/stack/procs';
import { testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { closedBatchCoverage, startSplitPipeline } from '../support/batches';

/**
 * Guarantee 7, the bridge's part: the Temporal dev server is killed (-9) and stays away for longer
 * than the bridge's Kafka session, while the collector keeps accepting events. The bridge cannot
 * start a batch the whole time; it must stay a live member of its consumer group (or rejoin it),
 * never exit, and start every batch once Temporal is back, without anyone restarting it.
 */
describe('the Temporal dev server killed for longer than the Kafka session', () => {
  const cfg = loadConfig();
  const run = `tkill-${Date.now().toString(36)}`;
  let pool: Pool;
  const procs: BeltlineProcess[] = [];

  beforeAll(() => {
    pool = testPool();
    pool.on('error', () => undefined);
  });

  afterAll(async () => {
    await stackUp(cfg, { only: ['temporal'] }).catch(() => undefined);
    for (const p of procs) await p.stop();
    await pool?.end();
  }, 90_000);

  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  it('keeps the bridge running and every record ends in a completed batch', async () => {
    const { topic, ids, send, applied } = await startSplitPipeline({ run, topicPrefix: 'temporal-outage', ports: [18163, 18164], pool, procs });

    await send('before');
    await waitFor('the events before the outage', async () => ((await applied()) === ids.length ? true : undefined));

    const temporal = (await stackStatus(cfg)).find((s) => s.name === 'temporal');
    expect(temporal?.pid).toBeGreaterThan(0);
    process.kill(temporal?.pid as number, 'SIGKILL');
    await waitFor('the Temporal server to be gone', async () => (isAlive(temporal?.pid as number) ? undefined : true));
    // Records arrive all along an outage twice as long as the bridge's session (and then some):
    // the bridge fetches them and cannot start their batches.
    const outageMs = 2 * CONSUMER_SESSION_TIMEOUT_MS + 5000;
    for (let t = 0; t < outageMs; t += 1000) {
      await send(`during-${t}`);
      await sleep(1000);
    }
    expect(await applied()).toBeLessThan(ids.length);
    await stackUp(cfg, { only: ['temporal'] });
    await send('after');

    await waitFor('every event applied', async () => ((await applied()) === ids.length ? true : undefined), 120_000);
    for (const p of procs) {
      expect(p.child.exitCode).toBeNull();
      expect(p.child.signalCode).toBeNull();
    }

    // Every record of the topic is in a batch whose workflow completed, and no batch ended otherwise.
    const coverage = await closedBatchCoverage(topic);
    expect(coverage.statuses).toEqual(['COMPLETED']);
    expect(coverage.uncovered).toEqual({ 0: [], 1: [] });
    const profile = await pool.query<{ count: number }>("SELECT (document->>'count')::int AS count FROM profiles WHERE id = $1", [`${run}-user`]);
    expect(profile.rows[0].count).toBe(ids.length);
  }, 300_000);
});
