import { buildPageView } from '@snowplow/node-tracker';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import { admin, ensureEventType, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';
import { snowplowTracker } from '../support/tracker';

describe('harvesters', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let api: BeltlineProcess | undefined;
  let pipeline: BeltlineProcess | undefined;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    // Collector harvesters see every later batch: leave none behind for the other tests.
    await pool.query('DELETE FROM harvesters WHERE name LIKE $1', [`%-${s}`]);
    await pipeline?.stop();
    await api?.stop();
    await pool.end();
  });

  it('routes kept collector events and Kafka records to their event types, drops the rest', async () => {
    const { topic, group } = await freshTopic('harvest-raw');
    const { topic: orders } = await freshTopic('harvest-orders', 1);
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group };
    api = await startBeltline({ roles: ['collector'], port: 18085, env });

    // Seed 001: a data_in type fed by a harvester keeping events whose app id is liveSegmenttest.
    const segIn = `lsin-${s}`;
    await ensureEventType(api.url, {
      name: segIn,
      displayName: 'livesegment-datain',
      type: 'data_in',
      eventIdExpression: '#randomUUID()',
      timestampExpression: '#nowMillis()',
      correlationIdExpression: '$.user_id',
      eventstoreTTL: 'P100Y',
    });
    const created = await admin(api.url, 'POST', '/projects/default/harvesters', {
      name: `keep-ls-${s}`,
      displayName: 'harvesterforlivesegment',
      sourceType: { name: 'collector' },
      transform: { language: 'javascript', script: "return event.app_id === 'liveSegmenttest' ? event : null;" },
      eventType: { name: segIn, version: '1' },
    });
    expect(created.status).toBe(201);

    // A harvester over another topic, mapping its records.
    const ordersType = `orders-${s}`;
    await ensureEventType(api.url, {
      name: ordersType,
      displayName: 'Orders',
      eventIdExpression: '$.id',
      timestampExpression: '$.at',
      correlationIdExpression: '$.customer',
    });
    expect(
      (
        await admin(api.url, 'POST', '/projects/default/harvesters', {
          name: `orders-${s}`,
          displayName: 'Orders from Kafka',
          sourceType: { name: 'kafka', topic: orders },
          transform: { script: 'function transform(r) { return r.total > 0 ? { id: r.orderId, at: r.ts, customer: r.who, total: r.total } : null; }' },
          eventType: { name: ordersType },
        })
      ).status,
    ).toBe(201);

    // Bad definitions are refused with the field named.
    const bad = await admin(api.url, 'POST', '/projects/default/harvesters', { displayName: 'x', sourceType: { name: 'ftp' }, transform: 'return 1', eventType: 'x' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ details: { field: 'sourceType.name' } });

    // The bridge subscribes to the harvested topics there are when it starts.
    pipeline = await startBeltline({ roles: ['bridge', 'worker'], env });

    const session = snowplowTracker(api.url, { appId: 'liveSegmenttest', bufferSize: 1 });
    session.tracker.setUserId(`ls-user-${s}`);
    session.tracker.track(buildPageView({ pageUrl: 'https://example.com/a' }));
    session.tracker.track(buildPageView({ pageUrl: 'https://example.com/b' }));
    const other = snowplowTracker(api.url, { appId: 'someOtherApp', bufferSize: 1 });
    other.tracker.setUserId(`ls-user-${s}`);
    other.tracker.track(buildPageView({ pageUrl: 'https://example.com/c' }));
    await Promise.all([session.flush(), other.flush()]);

    const producer = createKafka(loadConfig(), 'harvest-test').producer();
    await producer.connect();
    await producer.send({
      topic: orders,
      messages: [
        { value: JSON.stringify({ orderId: `o1-${s}`, ts: '2024-01-01T00:00:00Z', who: `c-${s}`, total: 12 }) },
        { value: JSON.stringify({ orderId: `o2-${s}`, ts: '2024-01-01T00:00:00Z', who: `c-${s}`, total: 0 }) },
      ],
    });
    await producer.disconnect();

    const harvested = await waitFor('two harvested collector events', async () => {
      const { rows } = await pool.query<{ payload: { page_url: string } }>('SELECT payload FROM events WHERE event_type = $1', [segIn]);
      return rows.length >= 2 ? rows : undefined;
    });
    expect(harvested.map((r) => r.payload.page_url).sort()).toEqual(['https://example.com/a', 'https://example.com/b']);
    const order = await waitFor('the harvested order', async () => {
      const { rows } = await pool.query('SELECT event_id, correlation_id, payload FROM events WHERE event_type = $1', [ordersType]);
      return rows.length > 0 ? rows : undefined;
    });
    expect(order).toEqual([{ event_id: `o1-${s}`, correlation_id: `c-${s}`, payload: { id: `o1-${s}`, at: '2024-01-01T00:00:00Z', customer: `c-${s}`, total: 12 } }]);
    // The dropped page view is still a good Snowplow event; only the harvested type skips it.
    const { rows } = await pool.query("SELECT count(*)::int AS n FROM events WHERE event_type = 'snowplow' AND correlation_id = $1", [`ls-user-${s}`]);
    expect(rows[0].n).toBe(3);

    // A harvester of a topic the running bridge did not consume yet: taken at once, no restart.
    const { topic: refunds } = await freshTopic('harvest-refunds', 1);
    expect(
      (
        await admin(api.url, 'POST', '/projects/default/harvesters', {
          name: `refunds-${s}`,
          displayName: 'Refunds from Kafka',
          sourceType: { name: 'kafka', topic: refunds },
          transform: { script: 'function transform(r) { return { id: r.refundId, at: r.ts, customer: r.who, total: -r.amount }; }' },
          eventType: { name: ordersType },
        })
      ).status,
    ).toBe(201);
    const late = createKafka(loadConfig(), 'harvest-test-late').producer();
    await late.connect();
    await late.send({ topic: refunds, messages: [{ value: JSON.stringify({ refundId: `r1-${s}`, ts: '2024-01-02T00:00:00Z', who: `c-${s}`, amount: 5 }) }] });
    await late.disconnect();
    const refund = await waitFor('the harvested refund', async () => {
      const { rows: r } = await pool.query('SELECT payload FROM events WHERE event_type = $1 AND event_id = $2', [ordersType, `r1-${s}`]);
      return r.length > 0 ? r : undefined;
    });
    expect(refund).toEqual([{ payload: { id: `r1-${s}`, at: '2024-01-02T00:00:00Z', customer: `c-${s}`, total: -5 } }]);
    expect(pipeline.output()).toContain('harvested topics changed');
  }, 180_000);
});
