import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig, REPO_ROOT } from '../../src/config';
import { ADMIN_KEY, admin, startBeltline, testPool, waitFor, type BeltlineProcess, runCli } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'conversion-funnel');

/** `bin/beltline example …` as the example's README says, against the test's beltline. */
const example = (url: string, run: string): ReturnType<typeof runCli> => runCli(['example', EXAMPLE, '--url', url, '--run', run], { BELTLINE_ADMIN_KEY: ADMIN_KEY });

describe('examples/conversion-funnel (seed 000 goal belt)', () => {
  const s = Date.now().toString(36);
  const queue = `example-funnel-${s}`;
  const cfg = loadConfig();
  let pool: Pool;
  let beltline: BeltlineProcess;
  let temporal: Connection;
  let client: Client;

  beforeAll(async () => {
    pool = testPool();
    temporal = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection: temporal, namespace: cfg.TEMPORAL_NAMESPACE });
    const { topic, group } = await freshTopic('example-funnel');
    beltline = await startBeltline({ port: 18102, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue } });
  }, 120_000);

  afterAll(async () => {
    if (beltline) {
      // Its harvester and belt would otherwise look at every later collector event of the stack.
      await admin(beltline.url, 'DELETE', '/projects/default/belts/conversion-funnel-goal-1').catch(() => undefined);
      await admin(beltline.url, 'DELETE', '/projects/default/harvesters/funnel-goal-from-tracker').catch(() => undefined);
    }
    await beltline?.stop();
    await pool?.end();
    await temporal?.close();
  }, 60_000);

  const goal = async (id: string): Promise<unknown> =>
    (await pool.query<{ v: unknown }>("SELECT document->'conversionfunnel'->'goal-1' AS v FROM profiles WHERE id = $1", [id])).rows[0]?.v ?? null;

  it('sets conversionfunnel.goal-1 for the users who reached the goal, and only for them', async () => {
    const run = `f${s}`;
    const started = Date.now();
    const first = await example(beltline.url, run);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/(created|updated) event type funnel-goal/);
    expect(first.stdout).toMatch(/(created|updated) harvester funnel-goal-from-tracker/);
    expect(first.stdout).toMatch(/(created|updated) belt conversion-funnel-goal-1/);
    expect(first.stdout).toContain(`sent tracker app=conversion-funnel user=ada-${run}: pageView`);
    expect(first.stdout).toContain(`sent json    funnel-goal {"user_id":"grace-${run}"`);
    expect(first.stdout).toMatch(new RegExp(`profile ada-${run} has conversionfunnel.goal-1 = \\d+`));
    expect(first.stdout).toMatch(new RegExp(`profile grace-${run} has conversionfunnel.goal-1 = \\d+`));

    // The seed's value: the event's created time in ms.
    for (const user of [`ada-${run}`, `grace-${run}`]) {
      const v = (await goal(user)) as number;
      expect(typeof v).toBe('number');
      expect(v).toBeGreaterThanOrEqual(started - 60_000);
      expect(v).toBeLessThanOrEqual(Date.now() + 60_000);
    }

    // linus only browsed: once his batch has finished, he has no goal and no funnel-goal event.
    const batchId = await waitFor('linus\'s page view stored', async () =>
      (await pool.query<{ batch_id: string }>("SELECT batch_id FROM events WHERE correlation_id = $1 AND event_type = 'snowplow'", [`linus-${run}`])).rows[0]?.batch_id,
    );
    const m = /^(.*)-(\d+)-(\d+)-(\d+)$/.exec(batchId) as RegExpExecArray;
    await client.workflow.getHandle(`ingest-${m[1]}-p${m[2]}-o${m[3]}-${m[4]}`).result();
    expect(await goal(`linus-${run}`)).toBeNull();
    expect((await pool.query("SELECT 1 FROM events WHERE correlation_id = $1 AND event_type = 'funnel-goal'", [`linus-${run}`])).rowCount).toBe(0);
    // ada's checkout went through the harvester into funnel-goal; her page view did not.
    expect((await pool.query("SELECT 1 FROM events WHERE correlation_id = $1 AND event_type = 'funnel-goal'", [`ada-${run}`])).rowCount).toBe(1);

    // Running it again updates the definitions in place and works with fresh users.
    const second = await example(beltline.url, `${run}b`);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('updated event type funnel-goal');
    expect(second.stdout).toContain('updated belt conversion-funnel-goal-1');
    expect(typeof (await goal(`ada-${run}b`))).toBe('number');
  }, 180_000);

  it('says what is wrong with a bad folder or a refused key', async () => {
    const wrongKey = await runCli(['example', EXAMPLE, '--url', beltline.url, '--admin-key', 'wrong']);
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/admin key was refused/);
    const missing = await runCli(['example', path.join(REPO_ROOT, 'examples', 'no-such-example'), '--url', beltline.url, '--admin-key', ADMIN_KEY]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-example: not a folder/);
  }, 60_000);
});
