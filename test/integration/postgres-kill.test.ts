/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it kills PostgreSQL.
 *
 * @stack exclusive
 */
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { stackStatus, stackUp } from '../../src/stack';
import { startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';
import { sendEvents } from '../support/tracker';

/**
 * Guarantee 7, PostgreSQL's part: its server killed with SIGKILL under load, then restarted. No
 * beltline process may exit (a client's connection error once killed it), and what is sent after
 * the restart is applied without anyone restarting beltline.
 */
describe('PostgreSQL killed -9 under load', () => {
  const s = Date.now().toString(36);
  const cfg = loadConfig();
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    pool.on('error', () => undefined);
    const { topic, group } = await freshTopic('pg-kill', 2);
    beltline = await startBeltline({ port: 18176, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: `pg-kill-${s}` } });
  }, 120_000);

  afterAll(async () => {
    await stackUp(cfg, { only: ['postgres'] }).catch(() => undefined);
    await beltline?.stop();
    await pool?.end();
  }, 60_000);

  const count = async (user: string): Promise<number | undefined> =>
    (await pool.query<{ n: number }>("SELECT (document->>'count')::int AS n FROM profiles WHERE id = $1", [user])).rows[0]?.n;

  it('keeps every role running and applies what comes after the restart', async () => {
    await sendEvents({ port: 18176, count: 3, userId: `before-${s}` });
    await waitFor('the events before', async () => ((await count(`before-${s}`)) === 3 ? true : undefined));

    // Steady load while the server dies: batches hold connections, the sweeper and retention poll.
    let sending = true;
    const load = (async () => {
      for (let i = 0; sending; i++) {
        await sendEvents({ port: 18176, count: 5, userId: `during-${s}-${i % 4}` }).catch(() => undefined);
      }
    })();
    await new Promise((r) => setTimeout(r, 1500));
    const pg = (await stackStatus(cfg)).find((x) => x.name === 'postgres');
    expect(pg?.pid).toBeGreaterThan(0);
    process.kill(pg?.pid as number, 'SIGKILL');
    // Down for a while (its orphaned backends notice and exit), as a crashed server would be.
    await new Promise((r) => setTimeout(r, 5000));
    sending = false;
    await load;
    await stackUp(cfg, { only: ['postgres'] });

    expect(beltline.child.exitCode).toBeNull();
    expect(beltline.child.signalCode).toBeNull();
    await sendEvents({ port: 18176, count: 4, userId: `after-${s}` });
    await waitFor('the events after the restart', async () => ((await count(`after-${s}`).catch(() => undefined)) === 4 ? true : undefined), 120_000);
    expect(beltline.child.exitCode).toBeNull();
  }, 240_000);
});
