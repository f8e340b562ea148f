import { arrivals, cursorOf, NEWEST, newer, older, pageNumber } from '../../console/event-paging';
import { formatJson, lineColumn, locateJson, schemaProblems } from '../../console/json-schema-lint';

describe('console: the JSON Schema editor\'s checks', () => {
  test('locates every value by JSON Pointer, escaping ~ and /', () => {
    const text = '{\n  "a/b": {"c~d": [1, "x"]},\n  "t": true\n}';
    const { value, ranges } = locateJson(text);
    expect(value).toEqual(JSON.parse(text));
    const at = (p: string): string => {
      const r = ranges.get(p);
      return r ? text.slice(r.from, r.to) : '?';
    };
    expect(at('/a~1b/c~0d/1')).toBe('"x"');
    expect(at('/a~1b/c~0d')).toBe('[1, "x"]');
    expect(at('/t')).toBe('true');
    expect(at('')).toBe(text);
  });

  test.each([
    ['{"type": "object",}', 18, 'expected a property name'],
    ['{"type" "object"}', 8, "expected ':'"],
    ['{"a": [1 2]}', 9, "expected ',' or ']'"],
    ['{"a": tru}', 6, 'expected a value'],
    ['{"a": 1', 7, "expected ',' or '}'"],
    ['{} x', 3, 'unexpected text after'],
  ])('broken JSON %j is marked where it breaks', (text, at, message) => {
    const [p, ...rest] = schemaProblems(text);
    expect(rest).toEqual([]);
    expect(p.from).toBe(at);
    expect(p.message).toContain(message);
    expect(p.message).toContain(lineColumn(text, at));
  });

  test('a wrong keyword value is marked on that value, with what is allowed', () => {
    const text = '{\n  "type": "object",\n  "properties": {"id": {"type": "strng"}}\n}';
    const problems = schemaProblems(text);
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(text.slice(p.from, p.to)).toBe('"strng"');
    expect(problems[0].message).toMatch(/^not a valid JSON Schema: \/properties\/id\/type must be equal to one of the allowed values \(.*"string"/);
    expect(problems.some((p) => p.message.includes('anyOf'))).toBe(false);
  });

  test('valid schemas pass, whatever draft $schema names; compile errors and non-objects do not', () => {
    expect(schemaProblems('{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "properties": {"id": {"type": "string"}}}')).toEqual([]);
    const withId = '{"$id": "https://example.com/x", "type": "object"}';
    expect(schemaProblems(withId)).toEqual([]);
    expect(schemaProblems(withId)).toEqual([]);
    expect(schemaProblems('{"$ref": "#/definitions/nope"}')[0].message).toMatch(/^not a valid JSON Schema: .*nope/);
    expect(schemaProblems('[1]')[0].message).toMatch(/must be a JSON object/);
    expect(schemaProblems('  ')[0].message).toMatch(/empty/);
  });

  test('the caller\'s own rules run on a valid schema', () => {
    const text = '{"type": "object", "properties": {}}';
    const problems = schemaProblems(text, (s, ranges) => ('id' in (s.properties as object) ? [] : [{ ...(ranges.get('/properties') ?? { from: 0, to: 0 }), message: 'no id' }]));
    expect(problems).toEqual([{ from: text.indexOf('{}'), to: text.indexOf('{}') + 2, message: 'no id' }]);
  });

  test('Format pretty-prints JSON and leaves broken text alone', () => {
    expect(formatJson('{"a":[1,2]}')).toBe('{\n  "a": [\n    1,\n    2\n  ]\n}\n');
    expect(formatJson('{"a":')).toBeUndefined();
  });
});

describe('console: the event browser\'s paging (newest first)', () => {
  test('Older follows `next`, Newer goes back to the cursor the page was reached with', () => {
    let p = NEWEST;
    expect(cursorOf(p)).toBeUndefined();
    p = older(p, 'c1');
    p = older(p, 'c2');
    expect([cursorOf(p), pageNumber(p)]).toEqual(['c2', 3]);
    expect(older(p, null)).toBe(p);
    p = newer(p);
    expect([cursorOf(p), pageNumber(p)]).toEqual(['c1', 2]);
    expect(newer(newer(p))).toEqual(NEWEST);
  });

  test('events new on a reloaded page are the arrivals; the first load marks none', () => {
    expect(arrivals(undefined, [{ eventId: 'a' }])).toEqual(new Set());
    expect(arrivals([{ eventId: 'a' }, { eventId: 'b' }], [{ eventId: 'c' }, { eventId: 'a' }])).toEqual(new Set(['c']));
  });
});
