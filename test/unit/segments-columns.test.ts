import type { BeltDefinition } from '../../src/belts/definition';
import { classifyOutputs } from '../../src/belts/outputs';
import { DefinitionError } from '../../src/shared/errors';
import { parseEventTypeBody } from '../../src/eventtypes/definition';
import { quoteIdent } from '../../src/db/sql';
import { columnType, compileRowValidator, evolve, idProblem, segmentColumns, tableName, validationMessages } from '../../src/segments/columns';
import { latestPerId, type PendingRow } from '../../src/segments/store';

describe('live-segment columns', () => {
  it('maps JSON Schema types to column types', () => {
    expect(columnType({ type: 'integer' })).toBe('bigint');
    expect(columnType({ type: 'number' })).toBe('double precision');
    expect(columnType({ type: 'boolean' })).toBe('boolean');
    expect(columnType({ type: 'string' })).toBe('text');
    expect(columnType({ type: 'string', format: 'date-time' })).toBe('timestamptz');
    expect(columnType({ type: 'string', format: 'email' })).toBe('text');
    expect(columnType({ type: 'object' })).toBe('jsonb');
    expect(columnType({ type: 'array' })).toBe('jsonb');
    expect(columnType({ type: ['integer', 'null'] })).toBe('bigint');
    expect(columnType({ type: ['integer', 'string'] })).toBe('jsonb');
    expect(columnType({})).toBe('jsonb');
    expect(columnType(true)).toBe('jsonb');
  });

  it('puts id first as text, whatever the schema says of it', () => {
    const cols = segmentColumns({ required: ['a'], properties: { a: { type: 'string' }, id: { type: 'integer' }, b: { type: 'number' } } });
    expect(cols).toEqual([
      { name: 'id', type: 'text', required: true },
      { name: 'a', type: 'text', required: true },
      { name: 'b', type: 'double precision', required: false },
    ]);
  });

  it('refuses property names PostgreSQL would truncate or beltline keeps, naming the property', () => {
    expect(() => segmentColumns({ properties: { id: {}, ['é'.repeat(32)]: {} } })).toThrow(/longer than 63 bytes/);
    expect(() => segmentColumns({ properties: { id: {}, _data: {} } })).toThrow(/beltline keeps for itself/);
    expect(() => segmentColumns({ properties: { id: {}, 'a\u0000b': {} } })).toThrow(/NUL/);
    try {
      segmentColumns({ properties: { id: {}, updated_at: {} } });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(DefinitionError);
      expect((err as DefinitionError).field).toBe('schema.properties["updated_at"]');
    }
    // Quotes and semicolons are fine: the name is quoted, never interpolated raw.
    expect(segmentColumns({ properties: { id: {}, 'a"; DROP TABLE x; --': {} } })[1].name).toBe('a"; DROP TABLE x; --');
    expect(quoteIdent('a"; DROP TABLE x; --')).toBe('"a""; DROP TABLE x; --"');
  });

  it('names tables per version', () => {
    expect(tableName('people', 1)).toBe('live_segment_people');
    expect(tableName('people', 2)).toBe('live_segment_people_v2');
  });

  it('wants an id that can be a string key', () => {
    expect(idProblem({ properties: { id: { type: 'string' } } })).toBeUndefined();
    expect(idProblem({ properties: { id: { type: 'integer' } } })).toBeUndefined(); // seed 001's own example
    expect(idProblem({ properties: { name: {} } })).toMatch(/must define the property "id"/);
    expect(idProblem({ properties: { id: { type: 'boolean' } } })).toMatch(/must be of type string/);
  });

  it('validates rows with id as a string and reports ajv messages', () => {
    const validate = compileRowValidator({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      required: ['name'],
      properties: { id: { type: 'integer' }, name: { type: 'string' }, at: { type: 'string', format: 'date-time' } },
    });
    expect(validate({ id: '42', name: 'a', at: '2026-11-23T10:00:00Z' })).toBe(true);
    expect(validate({ id: 42, name: 'a' })).toBe(false);
    expect(validate({ id: '1', at: 'yesterday' })).toBe(false);
    expect(validationMessages(validate)).toEqual(expect.arrayContaining(["/ must have required property 'name'", '/at must match format "date-time"']));
  });

  it('evolves: new optional properties are columns to add; removals, type changes and new required ones are not compatible', () => {
    const v1 = segmentColumns({ properties: { id: {}, a: { type: 'string' }, n: { type: 'integer' } } });
    expect(evolve(v1, segmentColumns({ properties: { id: {}, a: { type: 'string' }, n: { type: 'integer' }, z: { type: 'boolean' } } }))).toEqual({
      added: [{ name: 'z', type: 'boolean', required: false }],
      incompatible: [],
    });
    const bad = evolve(v1, segmentColumns({ required: ['r'], properties: { id: {}, n: { type: 'number' }, r: { type: 'string' } } }));
    expect(bad.incompatible).toEqual([
      'property "a" was removed (its column holds data)',
      'property "n" changes type from bigint to double precision',
      'new property "r" is required (rows already stored do not have it)',
    ]);
    // Constraints that do not touch the table (enum, maxLength, required on old properties) are fine.
    expect(evolve(v1, segmentColumns({ required: ['a'], properties: { id: {}, a: { type: 'string', maxLength: 3 }, n: { type: 'integer' } } })).incompatible).toEqual([]);
  });

  it('keeps, per id, the row a sequence of upserts would leave: newest event, then later event id, then later output', () => {
    const row = (id: string, eventAt: number, eventId: string, v: string): PendingRow => ({ segment: 's', row: { id, v }, eventId, belt: 'b', eventAt });
    const won = latestPerId([row('a', 2, 'e2', 'new'), row('a', 1, 'e1', 'old'), row('b', 1, 'e1', 'first'), row('b', 1, 'e1', 'second'), row('c', 5, 'x', 'x'), row('c', 5, 'y', 'y')]);
    expect(Object.fromEntries(won.map((r) => [r.row.id, r.row.v]))).toEqual({ a: 'new', b: 'second', c: 'y' });
  });

  it('checks live-segment definitions when the event type is parsed', () => {
    const base = { name: 'seg', displayName: 'seg', type: 'live_segment' };
    expect(parseEventTypeBody({ ...base, schema: '{"properties": {"id": {"type": "string"}}}' }).schema).toEqual({ properties: { id: { type: 'string' } } });
    expect(() => parseEventTypeBody({ ...base, name: 'x'.repeat(46), schema: { properties: { id: {} } } })).toThrow(/at most 45 characters/);
    expect(() => parseEventTypeBody({ ...base, schema: { properties: { id: {} } }, schemaVersion: 0 })).toThrow(/schemaVersion: must be a positive integer/);
    expect(() => parseEventTypeBody({ name: 'd', displayName: 'd', schemaVersion: 2 })).toThrow(/only live_segment/);
  });

  it("refuses a DirectUpdate whose target is not a live segment in the belt's outputTypes", () => {
    const def = { outputTypes: [{ name: 'seg', version: 'latest' }, { name: 'plain', version: 'latest' }] } as unknown as BeltDefinition;
    const isSegment = (n: string): boolean => n === 'seg' || n === 'undeclared';
    expect(classifyOutputs(def, [{ _direct: 'seg', row: { id: 'a', x: 1 } }], isSegment).direct).toEqual([{ eventType: 'seg', row: { id: 'a', x: 1 } }]);
    expect(() => classifyOutputs(def, [{ _direct: 'plain', row: { id: 'a' } }], isSegment)).toThrow(/output 0: DirectUpdate target "plain" is not a live_segment event type/);
    expect(() => classifyOutputs(def, [{ _direct: 'undeclared', row: { id: 'a' } }], isSegment)).toThrow(/not in this belt's outputTypes/);
    expect(() => classifyOutputs(def, [{ _direct: 'seg', row: { id: 7 } }], isSegment)).toThrow(/string "id"/);
    expect(() => classifyOutputs(def, [{ _direct: 'seg', row: [] }], isSegment)).toThrow(/string "id"/);
  });
});
