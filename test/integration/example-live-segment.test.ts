import path from 'node:path';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../../src/config';
import { ADMIN_KEY, admin, startBeltline, testPool, type BeltlineProcess, runCli } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const EXAMPLE = path.join(REPO_ROOT, 'examples', 'live-segment');

/** `bin/beltline example …` as the example's README says, against the test's beltline. */
const example = (url: string, run: string): ReturnType<typeof runCli> => runCli(['example', EXAMPLE, '--url', url, '--run', run], { BELTLINE_ADMIN_KEY: ADMIN_KEY });

describe('examples/live-segment (seed 001 start to finish)', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('example-segment');
    beltline = await startBeltline({ port: 18141, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: `example-segment-${s}` } });
  }, 120_000);

  afterAll(async () => {
    if (beltline) {
      // A collector harvester sees every later tracker event of the stack: leave none behind.
      await admin(beltline.url, 'DELETE', '/projects/default/belts/liveSegement-belt').catch(() => undefined);
      await admin(beltline.url, 'DELETE', '/projects/default/harvesters/harvesterforlivesegment').catch(() => undefined);
    }
    await beltline?.stop();
    await pool?.end();
  }, 60_000);

  it('keeps the liveSegmenttest event, drops the other app, and writes the seed row', async () => {
    const started = new Date(Date.now() - 1000);
    const first = await example(beltline.url, `ls${s}`);
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
      "SELECT correlation_id, payload FROM events WHERE event_type = 'livesegment-datain' AND created_at >= $1",
      [started],
    );
    expect(harvested.map((h) => h.payload)).toEqual([{ appId: 'liveSegmenttest', firstName: 'Andrew', lastName: 'Peterson' }]);
    const { rows } = await pool.query('SELECT id, "firstName", "lastName" FROM beltline."live_segment_livesegment-dataoutp" WHERE updated_at >= $1', [started]);
    expect(rows).toEqual([{ id: harvested[0].correlation_id, firstName: 'Andrew', lastName: 'Peterson' }]);

    // Run again: definitions are updated in place, a second row arrives (a new correlation id).
    const second = await example(beltline.url, `ls2${s}`);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/updated event type livesegment-dataoutp/);
    const { rows: after } = await pool.query('SELECT count(*)::int AS n FROM beltline."live_segment_livesegment-dataoutp" WHERE updated_at >= $1', [started]);
    expect(after[0].n).toBe(2);
  }, 180_000);
});
