import { buildPageView, buildStructEvent } from '@snowplow/node-tracker';
import { admin, startBeltline, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic, readAll } from '../support/kafka';
import { snowplowTracker } from '../support/tracker';

describe('Snowplow Micro-style inspection', () => {
  let beltline: BeltlineProcess;
  let badTopic: string;

  beforeAll(async () => {
    const { topic, group } = await freshTopic('micro-test');
    ({ topic: badTopic } = await freshTopic('micro-bad', 1));
    beltline = await startBeltline({
      port: 18087,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_BAD_TOPIC: badTopic, BELTLINE_MICRO: 'true' },
    });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
  });

  const get = async <T>(path: string): Promise<T> => (await (await admin(beltline.url, 'GET', path)).json()) as T;

  it('shows good and bad events since the last reset, with filters', async () => {
    // Every route takes the admin key: a reset without it is refused and resets nothing.
    expect((await fetch(`${beltline.url}/micro/all`)).status).toBe(401);
    expect((await fetch(`${beltline.url}/micro/reset`, { method: 'POST' })).status).toBe(401);
    expect((await admin(beltline.url, 'POST', '/micro/reset')).status).toBe(200);
    expect(await get('/micro/all')).toEqual({ total: 0, good: 0, bad: 0 });

    const session = snowplowTracker(beltline.url, { appId: 'micro-test', bufferSize: 1 });
    session.tracker.track(buildPageView({ pageUrl: 'https://example.com/micro' }));
    session.tracker.track(buildStructEvent({ category: 'c', action: 'a' }));
    await session.flush();
    // An event whose self-describing payload is not base64 JSON: a bad row, not a lost event.
    const res = await fetch(`${beltline.url}/com.snowplowanalytics.snowplow/tp2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
        data: [{ e: 'ue', eid: 'b1b1b1b1-0000-4000-8000-000000000001', p: 'web', tv: 't', ue_px: '!!!not-base64!!!' }],
      }),
    });
    expect(res.status).toBe(200);

    await waitFor('2 good and 1 bad', async () => {
      const all = await get<{ good: number; bad: number }>('/micro/all');
      return all.good === 2 && all.bad === 1 ? all : undefined;
    });
    const pageViews = await get<{ eventType: string; event: { page_url: string } }[]>('/micro/good?event_type=page_view');
    expect(pageViews).toHaveLength(1);
    expect(pageViews[0]).toMatchObject({ eventType: 'page_view', event: { page_url: 'https://example.com/micro' } });
    const bad = await get<{ schema: string; data: { failure: { messages: { field: string }[] } } }[]>('/micro/bad');
    expect(bad[0].schema).toMatch(/badrows\/tracker_protocol_violations/);
    expect(bad[0].data.failure.messages[0].field).toBe('ue_px');

    // The bad row also went to the Kafka topic `bad`.
    const published = await readAll(badTopic, 1);
    expect(published).toHaveLength(1);
    expect(JSON.parse(published[0])).toEqual(bad[0]);

    expect((await fetch(`${beltline.url}/micro/reset`, { method: 'POST', headers: { authorization: 'Bearer not-the-key' } })).status).toBe(403);
    expect(await get('/micro/all')).toEqual({ total: 3, good: 2, bad: 1 });
    await admin(beltline.url, 'POST', '/micro/reset');
    expect(await get('/micro/all')).toEqual({ total: 0, good: 0, bad: 0 });
  }, 60_000);
});
