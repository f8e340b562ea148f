import { buildPageView, buildSelfDescribingEvent, buildStructEvent } from '@snowplow/node-tracker';
import type { Pool } from 'pg';
import { admin, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';
import { snowplowTracker } from '../support/tracker';

/** The walking skeleton end to end: Snowplow's Node tracker → collector → Kafka → Temporal → belt → profile. */
describe('tracker to profile', () => {
  const USERS = 10;
  const PER_USER = 100;
  const runId = `pipe-${Date.now()}`;
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('pipeline-test', 4);
    beltline = await startBeltline({ port: 18083, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group } });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  it('processes 1,000 tracker events into exactly the profiles the belt dictates', async () => {
    const session = snowplowTracker(beltline.url, { bufferSize: 10 });
    for (let i = 0; i < USERS * PER_USER; i++) {
      const user = `${runId}-user-${i % USERS}`;
      session.tracker.setUserId(user);
      const kind = i % 3;
      if (kind === 0) session.tracker.track(buildPageView({ pageUrl: `https://shop.example/p/${i}`, pageTitle: 'Product' }));
      else if (kind === 1) session.tracker.track(buildStructEvent({ category: 'shop', action: 'click', value: i }));
      else
        session.tracker.track(
          buildSelfDescribingEvent({
            event: { schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', data: { sku: `sku-${i}`, quantity: 1 } },
          }),
        );
    }
    await session.flush();
    // flush() sends what is buffered; requests started earlier may still be on their way.
    await waitFor('every request answered', async () => (session.acknowledged.length + session.failed === USERS * PER_USER ? true : undefined));
    expect(session.failed).toBe(0);
    expect(session.acknowledged).toHaveLength(USERS * PER_USER);

    await waitFor('1,000 events applied', async () => {
      const { rows } = await pool.query("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt = 'counter' AND applied", [
        session.acknowledged,
      ]);
      return rows[0].n === USERS * PER_USER ? true : undefined;
    }, 120_000);

    const { rows } = await pool.query<{ id: string; document: { count: number; last: { event_name: string } } }>(
      'SELECT id, document FROM profiles WHERE id LIKE $1 ORDER BY id',
      [`${runId}-user-%`],
    );
    expect(rows).toHaveLength(USERS);
    for (const r of rows) expect(r.document.count).toBe(PER_USER);

    // The visitor profile over HTTP, as a user reads it.
    const res = await admin(beltline.url, 'GET', `/projects/default/profiles/${encodeURIComponent(`${runId}-user-3`)}`);
    expect(res.status).toBe(200);
    const profile = (await res.json()) as { id: string; document: { count: number } };
    expect(profile).toMatchObject({ id: `${runId}-user-3`, document: { count: PER_USER } });

    const missing = await admin(beltline.url, 'GET', `/projects/default/profiles/nobody-${runId}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });

    // Stored events carry the enriched Snowplow fields.
    const stored = await pool.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM events WHERE event_id = ANY($1) AND payload->>'event_name' = 'add_to_cart' LIMIT 1`,
      [session.acknowledged],
    );
    expect(stored.rows[0].payload).toMatchObject({
      event: 'unstruct',
      event_vendor: 'com.snowplowanalytics.snowplow',
      app_id: 'beltline-test',
      platform: 'srv',
      unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { quantity: 1 },
    });
  }, 240_000);
});
