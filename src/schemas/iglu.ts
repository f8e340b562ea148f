import { isObject } from '../shared/json';

/**
 * Iglu schema keys and self-describing schemas (pure).
 *
 * A schema is named by its key `vendor/name/format/M-R-A` (SchemaVer: MODEL-REVISION-ADDITION), written
 * `iglu:vendor/name/format/M-R-A` as a URI inside self-describing JSON and as a path in an Iglu folder.
 * A self-describing schema declares the self-desc meta-schema as `$schema` and its own key as `self`.
 */

/** The `$schema` of every self-describing JSON Schema. */
export const SELF_DESC_METASCHEMA = 'http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#';

export interface SchemaKey {
  vendor: string;
  name: string;
  format: string;
  /** SchemaVer `MODEL-REVISION-ADDITION`, e.g. `1-0-2`. */
  version: string;
}

export interface SchemaVer {
  model: number;
  revision: number;
  addition: number;
}

// The character classes of Iglu Central's own URI pattern (unstruct_event, contexts).
const VENDOR = /^[a-zA-Z0-9_.-]+$/;
const SEGMENT = /^[a-zA-Z0-9_-]+$/;
// SchemaVer: MODEL starts at 1, no leading zeros.
const SCHEMAVER = /^([1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;

/** A problem of a schema itself (Snowplow's `schemaIssues`): where in the schema, and what. */
export interface SchemaIssue {
  path: string;
  message: string;
}

/** Thrown for a schema that is not a well-formed self-describing JSON Schema; `field` names the part at fault. */
export class InvalidSchemaError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly issues: SchemaIssue[] = [{ path: field === 'schema' ? '$' : `$.${field}`, message }],
  ) {
    super(message);
    this.name = 'InvalidSchemaError';
  }
}

export function parseSchemaVer(version: string): SchemaVer | undefined {
  const m = SCHEMAVER.exec(version);
  if (!m) return undefined;
  return { model: Number(m[1]), revision: Number(m[2]), addition: Number(m[3]) };
}

/** Why the parts are not a well-formed key, or undefined when they are. */
export function keyProblem(key: SchemaKey): { field: keyof SchemaKey; message: string } | undefined {
  if (!VENDOR.test(key.vendor)) return { field: 'vendor', message: `vendor ${JSON.stringify(key.vendor)} may only have letters, digits, "_", "-" and "."` };
  if (!SEGMENT.test(key.name)) return { field: 'name', message: `name ${JSON.stringify(key.name)} may only have letters, digits, "_" and "-"` };
  if (!SEGMENT.test(key.format)) return { field: 'format', message: `format ${JSON.stringify(key.format)} may only have letters, digits, "_" and "-"` };
  if (!parseSchemaVer(key.version)) {
    return { field: 'version', message: `version ${JSON.stringify(key.version)} is not a SchemaVer MODEL-REVISION-ADDITION such as 1-0-0 (MODEL from 1, no leading zeros)` };
  }
  return undefined;
}

/** `vendor/name/format/M-R-A` → key; undefined when it is not a well-formed key. */
export function parseSchemaPath(path: string): SchemaKey | undefined {
  const parts = path.split('/');
  if (parts.length !== 4) return undefined;
  const [vendor, name, format, version] = parts;
  const key = { vendor, name, format, version };
  return keyProblem(key) ? undefined : key;
}

/** `iglu:vendor/name/format/M-R-A` → key; undefined when it is not a well-formed Iglu URI. */
export function parseSchemaUri(uri: string): SchemaKey | undefined {
  return uri.startsWith('iglu:') ? parseSchemaPath(uri.slice('iglu:'.length)) : undefined;
}

/** Either form: `iglu:vendor/name/format/M-R-A` or `vendor/name/format/M-R-A`. */
export function parseSchemaKey(keyOrUri: string): SchemaKey | undefined {
  return keyOrUri.startsWith('iglu:') ? parseSchemaUri(keyOrUri) : parseSchemaPath(keyOrUri);
}

/** `vendor/name/format/M-R-A`: the key as a path in an Iglu folder. */
export function schemaPath(key: SchemaKey): string {
  return `${key.vendor}/${key.name}/${key.format}/${key.version}`;
}

/** `iglu:vendor/name/format/M-R-A`: the key as self-describing JSON names it (and as the registry keys it). */
export function schemaUri(key: SchemaKey): string {
  return `iglu:${schemaPath(key)}`;
}

/** Orders keys by vendor, name, format, then SchemaVer numerically (1-0-10 after 1-0-9). */
export function compareKeys(a: SchemaKey, b: SchemaKey): number {
  for (const f of ['vendor', 'name', 'format'] as const) {
    if (a[f] !== b[f]) return a[f] < b[f] ? -1 : 1;
  }
  const va = parseSchemaVer(a.version);
  const vb = parseSchemaVer(b.version);
  if (!va || !vb) return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
  return va.model - vb.model || va.revision - vb.revision || va.addition - vb.addition;
}


export interface CheckedSchema {
  key: SchemaKey;
  /** The schema as given (with `$schema` and `self`). */
  schema: Record<string, unknown>;
  /** What a validator compiles: the schema without `$schema` and `self`. */
  body: Record<string, unknown>;
}

/**
 * Checks that `schema` is a self-describing JSON Schema: an object whose `$schema` is the self-desc
 * meta-schema and whose `self` is a well-formed key in the `jsonschema` format (and, when `expected`
 * is given, that key). Whether it compiles is checked separately (validate.ts).
 */
export function checkSelfDescribingSchema(schema: unknown, expected?: SchemaKey): CheckedSchema {
  if (!isObject(schema)) throw new InvalidSchemaError('schema', 'a self-describing schema is a JSON object');
  if (schema.$schema !== SELF_DESC_METASCHEMA) {
    throw new InvalidSchemaError('$schema', `$schema must be ${JSON.stringify(SELF_DESC_METASCHEMA)}${schema.$schema === undefined ? '' : `, not ${JSON.stringify(schema.$schema)}`}`);
  }
  const self = schema.self;
  if (!isObject(self)) throw new InvalidSchemaError('self', 'self must be an object {vendor, name, format, version}');
  for (const f of ['vendor', 'name', 'format', 'version'] as const) {
    if (typeof self[f] !== 'string') throw new InvalidSchemaError(`self.${f}`, `self.${f} must be a string`);
  }
  const extra = Object.keys(self).filter((k) => !['vendor', 'name', 'format', 'version'].includes(k));
  if (extra.length > 0) throw new InvalidSchemaError(`self.${extra[0]}`, `self has only vendor, name, format and version, not ${extra.join(', ')}`);
  const key: SchemaKey = { vendor: self.vendor as string, name: self.name as string, format: self.format as string, version: self.version as string };
  const problem = keyProblem(key);
  if (problem) throw new InvalidSchemaError(`self.${problem.field}`, `self.${problem.message}`);
  if (key.format !== 'jsonschema') throw new InvalidSchemaError('self.format', `self.format must be "jsonschema", not ${JSON.stringify(key.format)}`);
  if (expected && schemaPath(expected) !== schemaPath(key)) {
    throw new InvalidSchemaError('self', `self names ${schemaUri(key)} but the schema is filed as ${schemaUri(expected)}`);
  }
  const body: Record<string, unknown> = { ...schema };
  delete body.$schema;
  delete body.self;
  return { key, schema, body };
}

/** Self-describing JSON: `{schema: "iglu:…", data}`. */
export function isSelfDescribingJson(v: unknown): v is { schema: string; data: unknown } {
  return isObject(v) && typeof v.schema === 'string' && 'data' in v;
}
