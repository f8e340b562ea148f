import { declaredEventTypes } from '../../src/bridge/bridge';
import { failedBatchesQuery, parseSince, quote } from '../../src/replay/query';

describe('failed-batch visibility queries', () => {
  it('finds failed ingestBatch runs of one task queue, with the optional filters', () => {
    expect(failedBatchesQuery({ taskQueue: 'beltline' })).toBe("WorkflowType = 'ingestBatch' AND ExecutionStatus = 'Failed' AND TaskQueue = 'beltline'");
    expect(failedBatchesQuery({ taskQueue: 'q', since: '2026-01-01T00:00:00.000Z', closedSince: '2026-01-02T00:00:00.000Z', eventType: 'snowplow', source: 'raw' })).toBe(
      "WorkflowType = 'ingestBatch' AND ExecutionStatus = 'Failed' AND TaskQueue = 'q' AND StartTime >= '2026-01-01T00:00:00.000Z'" +
        " AND CloseTime >= '2026-01-02T00:00:00.000Z' AND BeltlineEventTypes = 'snowplow' AND BeltlineSource = 'raw'",
    );
  });

  it('quotes values so a name cannot end the literal', () => {
    expect(quote("it's")).toBe("'it\\'s'");
    expect(quote('a\\')).toBe("'a\\\\'");
    expect(failedBatchesQuery({ taskQueue: 'q', eventType: "x' OR 'a' = 'a" })).toContain("BeltlineEventTypes = 'x\\' OR \\'a\\' = \\'a'");
  });

  it('takes ISO times and durations back from now for --since, and refuses the rest', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(parseSince('2026-02-01T00:00:00Z', now)).toBe('2026-02-01T00:00:00.000Z');
    expect(parseSince('30m', now)).toBe('2026-03-01T11:30:00.000Z');
    expect(parseSince('2h', now)).toBe('2026-03-01T10:00:00.000Z');
    expect(parseSince('1d', now)).toBe('2026-02-28T12:00:00.000Z');
    expect(() => parseSince('last week', now)).toThrow(/not a time: last week/);
  });
});

describe('event types a batch declares before it runs', () => {
  const records = (values: string[]) => values.map((value, i) => ({ offset: String(i), value }));

  it('reads JSON records\' types and snowplow for tracker records, once each, sorted', () => {
    const values = [
      JSON.stringify({ kind: 'json', eventType: 'orders', events: [{}] }),
      JSON.stringify({ kind: 'snowplow', events: [] }),
      JSON.stringify({ kind: 'json', eventType: 'clicks', events: [{}] }),
      JSON.stringify({ kind: 'json', eventType: 'orders', events: [{}] }),
      // as the collector writes them: kind, collector, timestamp and type first
      JSON.stringify({ kind: 'json', collector: 'beltline-0.1.0', timestamp: 1, eventType: 'quo\"ted', events: [{}] }),
      JSON.stringify({ kind: 'snowplow', collector: 'beltline-0.1.0', timestamp: 1, events: [] }),
      'not json',
    ];
    expect(declaredEventTypes('raw', records(values), 'raw')).toEqual(['clicks', 'orders', 'quo"ted', 'snowplow']);
  });

  it('declares nothing for harvested topics (their harvesters decide)', () => {
    expect(declaredEventTypes('orders-topic', records([JSON.stringify({ kind: 'json', eventType: 'x' })]), 'raw')).toEqual([]);
  });
});
