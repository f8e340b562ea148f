import path from 'node:path';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../../src/config';
import { admin, startBeltline, testPool, type BeltlineProcess, runCli } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'live-segment');

/** `bin/beltline example …` as the example's README says, against the test's beltline, in a project with its own admin key. */
const example = (url: string, run: string, project: string, key: string): ReturnType<typeof runCli> =>
  runCli(['example', EXAMPLE, '--url', url, '--run', run, '--project', project], { BELTLINE_ADMIN_KEY: key });

/**
 * Seed 001 in a project of its own, as the seed runs it: Step 1 creates the project (the instance
 * admin key), steps 2–5 define its types, harvester and belt with the seed's bodies (the project's
 * own admin key is enough), step 6 sends tracker events through the project's collector path.
 */
describe('examples/live-segment (seed 001 start to finish, in a new project)', () => {
  const s = Date.now().toString(36);
  const project = `seed-${s}`;
  let pool: Pool;
  let beltline: BeltlineProcess;
  let projectKey: string;
  let schema: string;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('example-segment');
    beltline = await startBeltline({ port: 18141, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: `example-segment-${s}` } });
  }, 120_000);

  afterAll(async () => {
    // Deleting the project stops its belt workers and drops its schema: nothing is left behind.
    if (beltline) await admin(beltline.url, 'DELETE', `/projects/${project}`).catch(() => undefined);
    await beltline?.stop();
    await pool?.end();
  }, 60_000);

  it('Step 1: creates the project, with its own schema and an admin key shown once', async () => {
    const res = await admin(beltline.url, 'POST', '/projects', { name: project, displayName: 'Seed 001 live segment' });
    expect(res.status).toBe(201);
    const made = (await res.json()) as { name: string; schema: string; adminKey: string };
    expect(made).toMatchObject({ name: project, schema: `beltline_${project}` });
    projectKey = made.adminKey;
    schema = made.schema;
  });

  it('steps 2–6: keeps the liveSegmenttest event, drops the other app, and writes the seed row in the project only', async () => {
    const started = new Date(Date.now() - 1000);
    const first = await example(beltline.url, `ls${s}`, project, projectKey);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/(added|kept) schema iglu:io\.beltline\.examples\/person\/jsonschema\/1-0-0/);
    expect(first.stdout).toMatch(/(created|updated) event type livesegment-datain/);
    expect(first.stdout).toMatch(/(created|updated) event type livesegment-dataoutp/);
    expect(first.stdout).toMatch(/(created|updated) harvester harvesterforlivesegment/);
    expect(first.stdout).toMatch(/(created|updated) belt liveSegement-belt/);
    expect(first.stdout).toMatch(/live segment livesegment-dataoutp has row \{"id":"[^"]+","firstName":"Andrew","lastName":"Peterson"/);

    // The row is keyed by the harvested event's correlation id, as the seed's belt says.
    const { rows: harvested } = await pool.query<{ correlation_id: string; payload: unknown }>(
      `SELECT correlation_id, payload FROM "${schema}".events WHERE event_type = 'livesegment-datain' AND created_at >= $1`,
      [started],
    );
    expect(harvested.map((h) => h.payload)).toEqual([{ appId: 'liveSegmenttest', firstName: 'Andrew', lastName: 'Peterson' }]);
    const table = `"${schema}"."live_segment_livesegment-dataoutp"`;
    const { rows } = await pool.query(`SELECT id, "firstName", "lastName" FROM ${table} WHERE updated_at >= $1`, [started]);
    expect(rows).toEqual([{ id: harvested[0].correlation_id, firstName: 'Andrew', lastName: 'Peterson' }]);
    // Nothing of it reached the default project: its tracker events (this run's users) are the
    // project's alone. (Other test files' traffic may land in default meanwhile.)
    const users = [`andrew-ls${s}`, `bob-ls${s}`];
    const tracked = async (schemaName: string): Promise<number> =>
      (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schemaName}".events WHERE event_type = 'snowplow' AND payload->>'user_id' = ANY($1)`, [users])).rows[0].n;
    expect(await tracked('beltline')).toBe(0);
    expect(await tracked(schema)).toBe(2);

    // Run again: definitions are updated in place, a second row arrives (a new correlation id).
    const second = await example(beltline.url, `ls2${s}`, project, projectKey);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/updated event type livesegment-dataoutp/);
    const { rows: after } = await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE updated_at >= $1`, [started]);
    expect(after[0].n).toBe(2);

    // The project's key opens this project only: the default project's definitions refuse it.
    const refused = await fetch(`${beltline.url}/projects/default/belts`, { headers: { authorization: `Bearer ${projectKey}` } });
    expect(refused.status).toBe(403);
  }, 180_000);
});
