import type { Pool } from 'pg';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

/**
 * Issue 12, item 2 for the reaper: a bucket whose expired values together pass Kafka's record
 * limit is reaped (its time_to_live events cut into records Kafka takes), not retried for ever.
 */
describe('reaping more than a Kafka record holds', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('reaper-oversize');
    // A task queue of its own: the reaper must run on this worker, which writes to this topic.
    beltline = await startBeltline({
      port: 18176,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_EXPIRY_BUCKET_MS: '1000', BELTLINE_TASK_QUEUE: `reaper-oversize-${s}` },
    });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  }, 30_000);

  it('expires 16 values of 100 KB due in the same bucket and emits a profile-ttl event for each, with its value', async () => {
    const user = `reap-big-${s}`;
    // One instant for all: the values are due together, so one reaper page takes all of them (1.6 MB).
    const at = Date.now() + 10_000;
    const paths = Array.from({ length: 16 }, (_, i) => `v${i}`);
    for (const [n, half] of [paths.slice(0, 8), paths.slice(8)].entries()) {
      const updates = half.map((p) => ({ _path: ['big', p], _value: { _v: `${p}:${'x'.repeat(100_000)}`, _in: at, _ttl: 'PT1S' } }));
      const res = await fetch(`${beltline.url}/api/v1/events/${TEST_JSON_TYPE.name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: `${s}-${n}`, correlationId: user, updates }),
      });
      expect(res.status).toBe(200);
    }
    await waitFor('the values written', async () => {
      const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM profiles, jsonb_object_keys(document->'big') WHERE id = $1", [user]);
      return rows[0]?.n === 16 ? true : undefined;
    });
    const reaped = await waitFor('a profile-ttl event per value', async () => {
      const { rows } = await pool.query<{ path: string[]; value: string }>(
        "SELECT payload->'path' AS path, payload->>'oldValue' AS value FROM events WHERE event_type = 'profile-ttl' AND payload->>'profileId' = $1",
        [user],
      );
      return rows.length >= 16 ? rows : undefined;
    }, 120_000);
    expect(reaped.map((r) => r.path[1]).sort()).toEqual([...paths].sort());
    expect(reaped.every((r) => r.value === `${r.path[1]}:${'x'.repeat(100_000)}`)).toBe(true);
    const doc = await pool.query<{ big: unknown }>("SELECT document->'big' AS big FROM profiles WHERE id = $1", [user]);
    expect(doc.rows[0].big ?? {}).toEqual({});
  }, 240_000);
});
