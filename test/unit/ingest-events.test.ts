import { parseEventTypeBody, type EventType } from '../../src/eventtypes/definition';
import { expandRecords, MAX_ID_LENGTH } from '../../src/events/expand';
import type { JsonRecord, SnowplowRecord } from '../../src/batches/record';

// The built-in type as migrations/003 defines it, and a JSON type whose ids come from the payload.
const SNOWPLOW: EventType = parseEventTypeBody({
  name: 'snowplow',
  displayName: 'Snowplow events',
  type: 'data_in',
  eventIdExpression: '$.event_id',
  timestampExpression: '$.derived_tstamp',
  correlationIdExpression: '#snowplowUser()',
});
const ORDERS: EventType = parseEventTypeBody({
  name: 'orders',
  displayName: 'orders',
  type: 'data_in',
  eventIdExpression: '$.id',
  timestampExpression: '$.at',
  correlationIdExpression: '$.user',
});
const TYPES = new Map([
  ['snowplow', SNOWPLOW],
  ['orders', ORDERS],
]);

const json = (events: unknown[], eventType = 'orders'): string =>
  JSON.stringify({ kind: 'json', collector: 'beltline-test', timestamp: 1_700_000_000_000, eventType, events } satisfies JsonRecord);
const tracker = (events: Record<string, string>[]): string =>
  JSON.stringify({ kind: 'snowplow', collector: 'beltline-test', timestamp: 1_700_000_000_000, path: '/com.snowplowanalytics.snowplow/tp2', events } satisfies SnowplowRecord);
const batch = (values: string[], topic = 'raw') => ({ topic, partition: 3, records: values.map((value, i) => ({ offset: String(100 + i), value, timestamp: 1_700_000_000_000 })) });

describe('expandRecords: Kafka records into events and bad rows', () => {
  it('identifies JSON events by their type\'s expressions, with seed headers and where they came from', () => {
    const out = expandRecords(batch([json([{ id: 'o1', at: 1_700_000_000_123, user: 'u1', total: 5 }])]), TYPES, 'raw');
    expect(out.badRows).toEqual([]);
    expect(out.events).toEqual([
      {
        eventId: 'o1',
        eventType: 'orders',
        correlationId: 'u1',
        created: 1_700_000_000_123,
        payload: { id: 'o1', at: 1_700_000_000_123, user: 'u1', total: 5 },
        headers: {
          'grnry-correlation-id': 'u1',
          'grnry-event-id': 'o1',
          'grnry-created': 1_700_000_000_123,
          'grnry-event-type': 'orders',
          'kafka-topic': 'raw',
          'kafka-partition': 3,
          'kafka-offset': '100',
        },
      },
    ]);
  });

  it('keeps the first of two events with one id and counts the other as a duplicate', () => {
    const out = expandRecords(batch([json([{ id: 'd', at: 1, user: 'a' }]), json([{ id: 'd', at: 2, user: 'b' }])]), TYPES, 'raw');
    expect(out.events.map((e) => [e.eventId, e.correlationId])).toEqual([['d', 'a']]);
    expect(out.duplicates).toBe(1);
  });

  it.each([
    ['an id over the limit', { id: 'x'.repeat(MAX_ID_LENGTH + 1), at: 1, user: 'u' }, 'eventIdExpression'],
    ['an empty correlation id', { id: 'ok', at: 1, user: '' }, 'correlationIdExpression'],
    ['a time of 1e300', { id: 'ok', at: 1e300, user: 'u' }, 'timestampExpression'],
    ['a negative year', { id: 'ok', at: '-001000-01-01T00:00:00Z', user: 'u' }, 'timestampExpression'],
    ['a time past year 9999', { id: 'ok', at: Date.UTC(10000, 0, 1), user: 'u' }, 'timestampExpression'],
  ])('turns %s into an adapter_failures bad row naming the expression; the other events go on', (_what, bad, field) => {
    const out = expandRecords(batch([json([bad, { id: 'good', at: 5, user: 'u' }])]), TYPES, 'raw');
    expect(out.events.map((e) => e.eventId)).toEqual(['good']);
    expect(out.badRows).toHaveLength(1);
    expect(out.badRows[0].key).toBe('raw:3:100:0');
    expect(out.badRows[0].row.schema).toBe('iglu:com.snowplowanalytics.snowplow.badrows/adapter_failures/jsonschema/1-0-0');
    expect(JSON.stringify(out.badRows[0].row.data.failure)).toContain(field);
  });

  it('turns a tracker event with a 4,000-character eid into a tracker_protocol_violations bad row, and keeps its neighbour', () => {
    const good = { e: 'pv', eid: '6a4c1b1e-8c57-4d8d-9a3e-1d2f3a4b5c6d', url: 'https://example.com/', uid: 'alice', p: 'web', tv: 'js-3.0.0', dtm: '1700000000000' };
    const out = expandRecords(batch([tracker([{ ...good, eid: 'e'.repeat(4000), uid: 'mallory' }, good])]), TYPES, 'raw');
    expect(out.events.map((e) => e.correlationId)).toEqual(['alice']);
    expect(out.badRows.map((b) => b.row.schema.split('/')[1])).toEqual(['tracker_protocol_violations']);
  });

  it('keeps what is not a collector record as a collector_payload_format_violation', () => {
    const out = expandRecords(batch(['{"not": "ours"}', 'not json']), TYPES, 'raw');
    expect(out.events).toEqual([]);
    expect(out.badRows.map((b) => [b.key, b.row.schema.split('/')[1]])).toEqual([
      ['raw:3:100', 'collector_payload_format_violation'],
      ['raw:3:101', 'collector_payload_format_violation'],
    ]);
  });

  it('a JSON record of an unknown type becomes one bad row per event', () => {
    const out = expandRecords(batch([json([{}, {}], 'nope')]), TYPES, 'raw');
    expect(out.badRows.map((b) => b.key)).toEqual(['raw:3:100:0', 'raw:3:100:1']);
  });

  it('names the types it did not hold, so the caller can look them up before keeping those bad rows', () => {
    const out = expandRecords(batch([json([{}], 'nope'), json([{ id: 'o', at: 1, user: 'u' }]), json([{}], 'nope'), tracker([{ e: 'pv', eid: '6a4c1b1e-8c57-4d8d-9a3e-1d2f3a4b5c6d', url: 'https://example.com/', uid: 'alice', p: 'web', tv: 'js-3.0.0', dtm: '1700000000000' }])]), new Map([['orders', ORDERS]]), 'raw');
    expect(out.unknownTypes.sort()).toEqual(['nope', 'snowplow']);
    expect(expandRecords(batch([json([{ id: 'o', at: 1, user: 'u' }])]), TYPES, 'raw').unknownTypes).toEqual([]);
  });

  it('leaves the records of other topics to their harvesters', () => {
    const out = expandRecords(batch(['{"a":1}', 'plain text'], 'orders-topic'), TYPES, 'raw');
    expect(out.events).toEqual([]);
    expect(out.topicPayloads.map((p) => p.payload)).toEqual([{ a: 1 }, 'plain text']);
  });
});
