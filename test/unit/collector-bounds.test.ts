import { checkJsonEvents, checkTrackerEvents, DEFAULT_BOUNDS, describeViolation } from '../../src/collector/bounds';
import type { EventType } from '../../src/eventtypes/definition';

const b = { ...DEFAULT_BOUNDS, maxEvents: 3, maxFieldBytes: 100, maxJsonDepth: 5 };
const ok = { e: 'pv', eid: 'e1', uid: 'u1', dtm: '1700000000000', stm: '1700000000001' };

const type: EventType = {
  name: 't',
  displayName: 't',
  type: 'data_in',
  eventIdExpression: '$.id',
  correlationIdExpression: '$.user',
  timestampExpression: '$.ts',
  eventstoreTTL: 'P1D',
} as EventType;

describe('checkTrackerEvents', () => {
  it('passes events within bounds, empty times included', () => {
    expect(checkTrackerEvents([ok, { ...ok, dtm: '' }, { e: 'se' }], b)).toBeUndefined();
  });

  it('refuses more events than a request may carry, naming data', () => {
    expect(checkTrackerEvents([ok, ok, ok, ok], b)).toEqual({ field: 'data', reason: expect.stringMatching(/4 events.*at most 3/) });
  });

  it.each(['eid', 'uid', 'duid', 'nuid', 'tnuid', 'sid'])('refuses a %s over 255 characters, naming it and the event', (field) => {
    const v = checkTrackerEvents([ok, { ...ok, [field]: 'x'.repeat(256) }], b);
    expect(v).toEqual({ index: 1, field, reason: expect.stringMatching(/256 characters/) });
    expect(describeViolation(v!, 'data')).toMatch(new RegExp(`^data\\[1\\]\\.${field}: `));
  });

  it.each([
    ['dtm', '1e300'],
    ['dtm', '-1'],
    ['stm', 'yesterday'],
    ['ttm', '253402300800000'],
    ['dtm', '99999999999999999999'],
  ])('refuses %s = %s', (field, value) => {
    expect(checkTrackerEvents([{ ...ok, [field]: value }], b)).toEqual({ index: 0, field, reason: expect.any(String) });
  });

  it('takes the last millisecond of year 9999 and the epoch', () => {
    expect(checkTrackerEvents([{ ...ok, dtm: '0', ttm: '253402300799999' }], b)).toBeUndefined();
  });

  it('refuses a field over the byte cap, counting UTF-8 bytes', () => {
    expect(checkTrackerEvents([{ ...ok, url: 'é'.repeat(51) }], b)).toEqual({ index: 0, field: 'url', reason: expect.stringMatching(/102 bytes/) });
    expect(checkTrackerEvents([{ ...ok, url: 'é'.repeat(50) }], b)).toBeUndefined();
  });

  it('names the first violation in a fixed order whatever the order of the parameters: ids, then times, then any field', () => {
    const bad = { url: 'x'.repeat(101), dtm: 'soon', eid: 'x'.repeat(256) };
    expect(checkTrackerEvents([ok, { ...ok, ...bad }], b)).toMatchObject({ index: 1, field: 'eid' });
    expect(checkTrackerEvents([{ ...bad, eid: 'e1' }], b)).toMatchObject({ index: 0, field: 'dtm' });
    expect(checkTrackerEvents([{ ...bad, eid: 'e1', dtm: '' }], b)).toMatchObject({ index: 0, field: 'url' });
    expect(checkTrackerEvents([{ ...ok, ['p'.repeat(256)]: 'v' }], b)).toEqual({ index: 0, field: 'p'.repeat(40), reason: expect.stringMatching(/256 characters/) });
  });
});

describe('checkJsonEvents', () => {
  const ev = { id: 'a', user: 'u', ts: 1_700_000_000_000 };

  it('passes events within bounds, and events whose ids or time are missing (bad rows later)', () => {
    expect(checkJsonEvents(type, [ev, {}, { ts: '2024-01-01T00:00:00Z' }], b)).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['$.ts', 1e300],
    ['$.ts', -5],
    ['$.ts', 'not a date'],
    ['$.ts', '-010000-01-01T00:00:00Z'],
    ['$.id', 'x'.repeat(256)],
    ['$.user', 'y'.repeat(300)],
  ])('refuses %s out of bounds (case %#), naming the path and event', (path, value) => {
    const key = path.slice(2);
    const v = checkJsonEvents(type, [ev, { ...ev, [key]: value }], b);
    expect(v).toEqual({ index: 1, field: path, reason: expect.any(String) });
    expect(describeViolation(v!, 'events')).toMatch(/^events\[1\] \$\./);
  });

  it('refuses nesting deeper than the cap and strings over the byte cap, with their path', () => {
    expect(checkJsonEvents(type, [{ ...ev, a: [[[[{ x: 1 }]]]] }], b)).toEqual({ index: 0, field: '$.a[0][0][0][0]', reason: expect.stringMatching(/deeper than 5/) });
    expect(checkJsonEvents(type, [{ ...ev, a: { 'b c': 'z'.repeat(101) } }], b)).toEqual({ index: 0, field: '$.a["b c"]', reason: expect.stringMatching(/101 bytes/) });
  });

  it('refuses more events than a request may carry', () => {
    expect(checkJsonEvents(type, [ev, ev, ev, ev], b)).toEqual({ field: 'events', reason: expect.any(String) });
  });
});
