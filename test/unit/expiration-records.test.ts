import { MAX_BUCKETS_PER_STEP, soonestBuckets } from '../../src/expiry/buckets';
import { expirationRecords, TTL_EVENT_TYPE } from '../../src/expiry/reap';
import { MAX_RECORD_BYTES } from '../../src/kafka/producer';
import type { JsonRecord } from '../../src/batches/record';

const ev = (i: number, bytes: number) => ({ expirationId: `x${i}`, profileId: `p${i}`, path: ['big', String(i)], dueAt: 1, oldValue: 'v'.repeat(bytes) });
const parse = (m: { value: string }) => JSON.parse(m.value) as Omit<JsonRecord, "events"> & { events: ReturnType<typeof ev>[] };

describe('expirationRecords', () => {
  it('puts a small page in one record of the type', () => {
    const records = expirationRecords(TTL_EVENT_TYPE, [ev(1, 3), ev(2, 3)], 42);
    expect(records.map(parse)).toEqual([{ kind: 'json', collector: 'beltline-reaper', timestamp: 42, eventType: TTL_EVENT_TYPE, events: [ev(1, 3), ev(2, 3)] }]);
  });

  it('cuts 500 values of 100 KB into records Kafka takes, keeping every event in order', () => {
    const events = Array.from({ length: 500 }, (_, i) => ev(i, 100_000));
    const records = expirationRecords(TTL_EVENT_TYPE, events, 1);
    expect(records.length).toBeGreaterThanOrEqual(50);
    for (const r of records) expect(Buffer.byteLength(r.value)).toBeLessThanOrEqual(MAX_RECORD_BYTES - 1024);
    expect(records.flatMap((r) => parse(r).events.map((e) => e.expirationId))).toEqual(events.map((e) => e.expirationId));
  });

  it('sends an event too large on its own without its old value, saying so', () => {
    const records = expirationRecords(TTL_EVENT_TYPE, [ev(1, 10), ev(2, 2_000_000), ev(3, 10)], 1);
    const events = records.flatMap((r) => parse(r).events) as Record<string, unknown>[];
    expect(events.map((e) => e.expirationId)).toEqual(['x1', 'x2', 'x3']);
    expect(events[1]).toMatchObject({ oldValue: null, oldValueTooLarge: { bytes: expect.any(Number) as number } });
    for (const r of records) expect(Buffer.byteLength(r.value)).toBeLessThanOrEqual(MAX_RECORD_BYTES);
  });

  it('makes no record of no events', () => {
    expect(expirationRecords(TTL_EVENT_TYPE, [], 1)).toEqual([]);
  });
});

describe('soonestBuckets', () => {
  it('keeps the distinct buckets, soonest first, at most the cap', () => {
    expect(soonestBuckets([5, 3, 5, 1], 2)).toEqual([1, 3]);
    const many = Array.from({ length: 5000 }, (_, i) => 5000 - i);
    expect(soonestBuckets(many)).toEqual(Array.from({ length: MAX_BUCKETS_PER_STEP }, (_, i) => i + 1));
  });
});
