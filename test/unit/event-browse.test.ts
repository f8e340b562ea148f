import { browseQuery, decodeCursor, encodeCursor } from '../../src/events/store';

describe('event store browsing: the query of a page', () => {
  const cursor = encodeCursor('2026-01-02T03:04:05.678Z', 'e-9');

  test('a cursor is opaque but round-trips; anything else is refused naming `after`', () => {
    expect(decodeCursor(cursor)).toEqual(['2026-01-02T03:04:05.678Z', 'e-9']);
    expect(() => decodeCursor('nonsense')).toThrow(/^after:/);
    expect(() => decodeCursor(Buffer.from(JSON.stringify(['not a date', 'x'])).toString('base64url'))).toThrow(/^after:/);
  });

  test('oldest first by default: the cursor is a lower bound on (created_at, event_id)', () => {
    const q = browseQuery('t', { limit: 10, after: cursor });
    expect(q.text).toMatch(/\(created_at, event_id\) > \(\$4, \$5\)/);
    expect(q.text).toMatch(/ORDER BY created_at, event_id LIMIT \$7/);
    expect(q.values).toEqual(['t', null, null, '2026-01-02T03:04:05.678Z', 'e-9', null, 11]);
  });

  test('newest first: the cursor is an upper bound and both keys sort descending', () => {
    const q = browseQuery('t', { limit: 5, after: cursor, order: 'desc', correlationId: 'u-1' });
    expect(q.text).toMatch(/\(created_at, event_id\) < \(\$4, \$5\)/);
    expect(q.text).toMatch(/ORDER BY created_at DESC, event_id DESC LIMIT \$7/);
    expect(q.values).toEqual(['t', null, null, '2026-01-02T03:04:05.678Z', 'e-9', 'u-1', 6]);
  });

  test('without a cursor or filter those conditions are off (NULL), so one statement serves every page', () => {
    const q = browseQuery('t', { limit: 1, order: 'desc', from: '2026-01-01T00:00:00Z' });
    expect(q.values).toEqual(['t', '2026-01-01T00:00:00Z', null, null, null, null, 2]);
    expect(q.text).toMatch(/\$6::text IS NULL OR correlation_id = \$6/);
  });
});
