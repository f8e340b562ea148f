/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it stops Temporal. Apart from
 * profiles.test.ts so that the rest of the profile graph's tests run beside another lane.
 *
 * @stack exclusive
 */
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { stackDown, stackUp } from '../../src/stack';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

describe('profile TTL across a Temporal restart', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('profiles-restart-test');
    beltline = await startBeltline({ port: 18199, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_EXPIRY_BUCKET_MS: '1000' } });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  const doc = async (user: string) => (await pool.query<{ document: Record<string, unknown> }>('SELECT document FROM profiles WHERE id = $1', [user])).rows[0]?.document;

  it('reaps after the Temporal server was restarted while the timer ran', async () => {
    const user = `restart-${s}`;
    const res = await fetch(`${beltline.url}/api/v1/events/test-json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: `${s}-1`, correlationId: user, updates: [{ _path: ['token'], _value: { _v: 'abc', _in: Date.now(), _ttl: 'PT5S' } }] }),
    });
    expect(res.status).toBe(200);
    await waitFor('the value written', async () => ((await doc(user))?.token === 'abc' ? true : undefined));
    const cfg = loadConfig();
    await stackDown(cfg, { only: ['temporal'] });
    await new Promise((r) => setTimeout(r, 2000));
    await stackUp(cfg, { only: ['temporal'] });
    // The timer lives in the server's database, not in any process: the reaper still fires.
    await waitFor('the reaper after the server restart', async () => ((await doc(user))?.token === undefined ? true : undefined), 60_000);
  }, 120_000);
});
