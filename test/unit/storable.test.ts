import { eventStorageProblem, separateUnstorable, storable, storageProblem } from '../../src/events/storable';
import type { PipelineEvent } from '../../src/events/expand';

const deep = (n: number): unknown => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown;

const event = (over: Partial<PipelineEvent> = {}): PipelineEvent => ({
  eventId: 'e1',
  eventType: 't',
  correlationId: 'u1',
  created: 0,
  headers: { 'kafka-topic': 'raw', 'kafka-partition': 0, 'kafka-offset': '7' },
  payload: { a: 'b' },
  ...over,
});

describe('storageProblem', () => {
  it('finds nothing in what PostgreSQL stores, surrogate pairs included', () => {
    expect(storageProblem({ a: ['x', 1, null, true, { '😀': 'é\ud83d\ude00' }] })).toBeUndefined();
    expect(storageProblem(deep(999))).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['a NUL in a string', { a: [0, 'x\u0000'] }, '$.a[1]'],
    ['a NUL in a key', { a: { 'k\u0000': 1 } }, '$.a["k\ufffd"]'],
    ['a lone high surrogate', { a: 'x\ud800' }, '$.a'],
    ['a lone low surrogate', { a: '\udc00x' }, '$.a'],
    ['nesting too deep', { a: deep(1000) }, `$.a${'[0]'.repeat(999)}`],
  ])('finds %s, with its path', (_, value, path) => {
    expect(storageProblem(value)?.path).toBe(path);
  });

  it('walks 100,000 levels without overflowing the stack', () => {
    expect(storageProblem(deep(100_000))?.reason).toMatch(/deeper than 1000/);
  });
});

describe('storable', () => {
  it('returns a value with nothing to change as it is', () => {
    const v = { a: ['x'] };
    expect(storable(v)).toBe(v);
  });

  it('replaces NUL and lone surrogates with U+FFFD and keeps a too-deep subtree as the start of its JSON', () => {
    expect(storable({ 'k\u0000': 'a\u0000b\ud800c\ud83d\ude00' })).toEqual({ 'k\ufffd': 'a\ufffdb\ufffdc\ud83d\ude00' });
    const out = storable({ d: deep(5) }, 3) as { d: unknown[][] };
    expect(out.d[0][0]).toBe('[[[]]]');
    expect(storageProblem(storable({ d: deep(50_000), s: '\u0000' }))).toBeUndefined();
  });
});

describe('separateUnstorable', () => {
  it('keeps storable events and makes a keyed bad row of each other one', () => {
    const { events, badRows } = separateUnstorable([
      event(),
      event({ eventId: 'e2', payload: { note: 'a\u0000' } }),
      event({ eventId: 'e3\u0000' }),
      event({ eventId: 'e4', correlationId: 'u\udc00' }),
    ]);
    expect(events.map((e) => e.eventId)).toEqual(['e1']);
    expect(badRows.map((b) => [b.key, (b.row.data.failure.messages as { field: string }[])[0].field])).toEqual([
      ['raw:0:7:event:e2', '$.note'],
      ['raw:0:7:event:e3\ufffd', 'eventId'],
      ['raw:0:7:event:e4', 'correlationId'],
    ]);
    expect(eventStorageProblem(event({ headers: { x: 'a\u0000' } }))?.path).toBe('headers.x');
  });
});
