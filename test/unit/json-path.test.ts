import { JSONPath } from 'jsonpath-plus';
import { matchPath, parseExpression, type JsonPathExpression } from '../../src/eventtypes/definition';

/** The path as an event type's expression, matched as identify() matches it. */
const firstMatch = (path: string, payload: unknown): unknown => matchPath(parseExpression(path, 'path') as JsonPathExpression, payload);

/** What matching returned before its dotted-path shortcut: jsonpath-plus's first result. */
const reference = (path: string, payload: unknown): unknown =>
  typeof payload !== 'object' || payload === null ? undefined : (JSONPath({ path, json: payload, wrap: true }) as unknown[])[0];

describe('matchPath: a dotted path finds what jsonpath-plus finds', () => {
  const paths = ['$.userId', '$.user.id', '$.a.b.c', '$.length', '$.s.length', '$.arr.length', '$.arr.x', '$.__proto__', '$.constructor', '$.n.x', '$.z.x', '$.e.x', '$.f', '$.nul', '$.nul.x', '$.u', '$.toString'];
  const payloads: unknown[] = [
    {},
    [],
    [1, 2],
    { userId: 'u1', user: { id: 7 }, a: { b: { c: [1] } }, s: 'abc', arr: [1, 2, 3], n: 5, z: 0, e: '', f: false, nul: null },
    { user: null, a: { b: 'text' }, s: '', arr: [], n: { x: 'deep' }, z: { x: 0 } },
    { user: { id: '' }, a: [{ b: 1 }], length: 3, e: { x: undefined } },
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": "c", "toString": 1}'),
    Object.assign(Object.create({ inherited: 'no' }) as object, { own: 'yes' }),
    'a string',
    42,
    null,
  ];
  it.each(paths)('%s', (path) => {
    for (const payload of payloads) expect([path, firstMatch(path, payload)]).toEqual([path, reference(path, payload)]);
  });

  it('still hands paths that are not plain dotted names to jsonpath-plus', () => {
    const payload = { items: [{ id: 'x' }, { id: 'y' }], 'odd key': 1, a: { b: 2 } };
    for (const path of ['$.items[1].id', "$['odd key']", '$..id', '$.items[*].id', '$.a["b"]']) {
      expect([path, firstMatch(path, payload)]).toEqual([path, reference(path, payload)]);
    }
  });
});

describe('parseExpression: parsed once per text', () => {
  it('gives the same result for the same text, and still refuses a bad one each time', () => {
    expect(parseExpression('$.userId', 'eventIdExpression')).toBe(parseExpression('$.userId', 'correlationIdExpression'));
    expect(parseExpression(' #randomUUID() ', 'eventIdExpression')).toEqual({ kind: 'randomUUID' });
    for (let i = 0; i < 2; i++) expect(() => parseExpression('$.a[', 'eventIdExpression')).toThrow(/eventIdExpression/);
  });
});
