import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { DefinitionError } from '../shared/errors';
import { isObject } from '../shared/json';

/** Live segments (seed 001), pure: the table a JSON Schema makes, and how it may evolve. */

export type SqlType = 'text' | 'bigint' | 'double precision' | 'boolean' | 'timestamptz' | 'jsonb';

export interface Column {
  /** The property name, used verbatim (quoted) as the column name. */
  name: string;
  type: SqlType;
  required: boolean;
}

/** Columns beltline adds to every segment table; properties may not take these names. */
export const META_COLUMNS = {
  /** When beltline last wrote the row. */
  updatedAt: 'updated_at',
  /** The whole row as the belt sent it, so properties the schema does not list are kept too. */
  data: '_data',
  /** The event that wrote the row, and its time: an older event never overwrites a newer one. */
  eventId: '_event_id',
  eventAt: '_event_at',
} as const;
const RESERVED = new Set<string>(Object.values(META_COLUMNS));

const TABLE_PREFIX = 'live_segment_';
// PostgreSQL truncates identifiers over 63 bytes, which would let two names share a table.
const MAX_IDENTIFIER_BYTES = 63;
/** Longest segment name whose versioned table name (`live_segment_<name>_v999`) still fits. */
export const MAX_SEGMENT_NAME = MAX_IDENTIFIER_BYTES - TABLE_PREFIX.length - '_v999'.length;

export function tableName(segment: string, version: number): string {
  return version === 1 ? `${TABLE_PREFIX}${segment}` : `${TABLE_PREFIX}${segment}_v${version}`;
}



/** The SQL type of one property: one JSON type maps to a column type, anything else is jsonb. */
export function columnType(prop: unknown): SqlType {
  if (!isObject(prop)) return 'jsonb';
  let t = prop.type;
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null');
    t = nonNull.length === 1 ? nonNull[0] : undefined;
  }
  switch (t) {
    case 'integer':
      return 'bigint';
    case 'number':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'string':
      return prop.format === 'date-time' ? 'timestamptz' : 'text';
    default:
      return 'jsonb';
  }
}

/** Why a property name cannot be a column, or undefined when it can. */
function columnNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.includes('\u0000')) return 'contains a NUL character';
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) return `is longer than ${MAX_IDENTIFIER_BYTES} bytes, PostgreSQL's limit for a column name`;
  if (RESERVED.has(name)) return 'is a column beltline keeps for itself (updated_at, _data, _event_id, _event_at)';
  return undefined;
}

/**
 * The columns of a segment's table, `id` first (always text: it is the row's key). Throws
 * DefinitionError naming the property that cannot be a column.
 */
export function segmentColumns(schema: Record<string, unknown>): Column[] {
  const props = schema.properties;
  if (!isObject(props)) throw new DefinitionError('schema', 'must have "properties"');
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  const columns: Column[] = [{ name: 'id', type: 'text', required: true }];
  for (const [name, prop] of Object.entries(props)) {
    if (name === 'id') continue;
    const problem = columnNameProblem(name);
    if (problem) throw new DefinitionError(`schema.properties[${JSON.stringify(name.slice(0, 80))}]`, `property name ${problem}`);
    columns.push({ name, type: columnType(prop), required: required.has(name) });
  }
  return columns;
}

/**
 * Seed 001 asks every segment schema for an `id` of type string, yet its own example declares
 * `integer` while its belt sends `str(correlation_id)`. Both are taken: the key column is text
 * and rows are checked with `id` as a string, so the seed's example works as written.
 */
export function idProblem(schema: Record<string, unknown>): string | undefined {
  const id = isObject(schema.properties) ? schema.properties.id : undefined;
  if (!isObject(id)) return 'must define the property "id" (the row\'s primary key), of type string';
  const t = id.type;
  if (t === undefined || t === 'string' || t === 'integer') return undefined;
  return `property "id" must be of type string (the row's primary key), not ${JSON.stringify(t)}`;
}

/** The schema rows are validated with: `id` a string, as the table's key requires. */
export function rowSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const props = schema.properties as Record<string, unknown>;
  const id = props.id as Record<string, unknown>;
  const required = Array.isArray(schema.required) ? schema.required : [];
  return {
    ...schema,
    properties: { ...props, id: { ...id, type: 'string' } },
    required: required.includes('id') ? required : [...required, 'id'],
  };
}

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

/** Compiles the row validator; an invalid JSON Schema is a DefinitionError on `schema`. */
export function compileRowValidator(schema: Record<string, unknown>): ValidateFunction {
  // Rows are checked by one validator whatever draft the schema names; `$schema` would make ajv
  // look for that draft's meta-schema.
  const rest = rowSchema(schema);
  delete rest.$schema;
  try {
    return ajv.compile(rest);
  } catch (err) {
    throw new DefinitionError('schema', `not a valid JSON Schema: ${(err as Error).message}`);
  }
}

/** ajv's complaints as readable lines: `/age must be integer`. */
export function validationMessages(validate: ValidateFunction): string[] {
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

export interface Evolution {
  /** Columns to add to the current table. */
  added: Column[];
  /** Why the new schema cannot use the current table; empty when it can. */
  incompatible: string[];
}

/**
 * What changing a segment's schema means for its table: new optional properties become new
 * columns; a removed property, a changed column type or a new required property would lose or
 * refuse data already stored, so they need a new version with its own table.
 */
export function evolve(current: Column[], next: Column[]): Evolution {
  const before = new Map(current.map((c) => [c.name, c]));
  const after = new Map(next.map((c) => [c.name, c]));
  const incompatible: string[] = [];
  const added: Column[] = [];
  for (const c of current) {
    const n = after.get(c.name);
    if (!n) incompatible.push(`property ${JSON.stringify(c.name)} was removed (its column holds data)`);
    else if (n.type !== c.type) incompatible.push(`property ${JSON.stringify(c.name)} changes type from ${c.type} to ${n.type}`);
  }
  for (const n of next) {
    if (before.has(n.name)) continue;
    if (n.required) incompatible.push(`new property ${JSON.stringify(n.name)} is required (rows already stored do not have it)`);
    else added.push(n);
  }
  return { added, incompatible };
}
