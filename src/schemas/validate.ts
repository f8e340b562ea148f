/**
 * Compiling Iglu schemas with ajv, and ajv's errors as Snowplow data reports (pure).
 *
 * Iglu schemas are JSON Schema draft-04 (Snowplow validates them against the draft-04 meta-schema
 * extended with `self`), so they compile with `ajv-draft-04`; `$schema` (the self-desc meta-schema,
 * which ajv does not know) and `self` are stripped first. The reports follow the messages of the
 * validator Snowplow's Iglu client uses (networknt json-schema-validator, messages as of 1.0.76), e.g.
 * `{"message": "$.sku: is missing but it is required", "path": "$", "keyword": "required", "targets": ["sku"]}`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { InvalidSchemaError, type SchemaIssue } from './iglu';
import { isObject } from '../shared/json';

export type { SchemaIssue } from './iglu';

/** One reason a datum fails its schema, in the shape of Snowplow's `schema_violations` bad rows. */
export interface DataReport {
  message: string;
  /** JSON path of the faulty value (`$`, `$.a.b`, `$.items[2]`); for `required` and `additionalProperties`, of the object. */
  path: string;
  keyword: string;
  /** What the keyword names: the missing or extra property, the types found and expected, the limit… ([] for combinators). */
  targets?: string[];
}

/** Validates one datum: [] when it is valid. */
export type DataValidator = (data: unknown) => DataReport[];

/**
 * An ajv instance for Iglu schemas: draft-04, every error (not only the first), formats (date-time,
 * uuid, ipv4, email, …), lenient about keywords and formats it does not know (as Snowplow is),
 * patterns read as Iglu writes them (Java regexes; no `u` flag, which rejects e.g. `[\w-.]`), and
 * `multipleOf` on decimals as decimals.
 */
export function createIgluAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    logger: false,
    // Schemas are compiled once per key and kept by the caller; ids inside them must not leak
    // into the instance, where another tenant's schema could collide with them.
    addUsedSchema: false,
    unicodeRegExp: false,
    // Money in Iglu schemas is `multipleOf: 0.01`, and 19.99 / 0.01 is 1998.9999999999998 in floating
    // point (Snowplow's validator divides decimals exactly). A quotient within 1e-6 of a whole number
    // counts as whole: enough for float error up to ~1e9 (9999999.99 / 0.01), far from 19.991.
    multipleOfPrecision: 6,
    // Errors carry the schema and the data at fault, for messages naming them.
    verbose: true,
  });
  // ajv-formats types itself against the `ajv` package's class; ajv-draft-04's shares its core.
  addFormats(ajv as unknown as Parameters<typeof addFormats>[0]);
  return ajv;
}


const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** A JSON pointer (`/items/0/sku`) as a JSON path (`$.items[0].sku`), array indexes told by the data. */
export function jsonPath(pointer: string, data: unknown): string {
  if (pointer === '') return '$';
  let path = '$';
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(segment)) {
      path = childPath(path, Number(segment));
      node = node[Number(segment)];
    } else {
      path = childPath(path, segment);
      node = isObject(node) ? node[segment] : undefined;
    }
  }
  return path;
}

/** The JSON type of a value as the reports name it (`integer` for whole numbers, as networknt does). */
export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function list(values: readonly unknown[]): string {
  return `[${values.map(show).join(', ')}]`;
}

function valueOf(err: ErrorObject, root: unknown): unknown {
  if ('data' in err) return err.data;
  let node: unknown = root;
  for (const s of err.instancePath.split('/').slice(1)) node = isObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[s] : undefined;
  return node;
}

// Formats whose failures networknt words as "<value> is an invalid <format>".
const VALUE_FORMATS = new Set(['date-time', 'date', 'time', 'uuid']);

function report(err: ErrorObject, data: unknown): DataReport {
  const path = jsonPath(err.instancePath, data);
  const p = err.params as Record<string, unknown>;
  const r = (message: string, targets: string[] = []): DataReport => ({ message, path, keyword: err.keyword, targets });
  switch (err.keyword) {
    case 'required': {
      const prop = String(p.missingProperty);
      return r(`${childPath(path, prop)}: is missing but it is required`, [prop]);
    }
    case 'additionalProperties': {
      const prop = String(p.additionalProperty);
      return r(`${childPath(path, prop)}: is not defined in the schema and the schema does not allow additional properties`, [prop]);
    }
    case 'type': {
      const expected = Array.isArray(err.schema) ? list(err.schema) : String(p.type).includes(',') ? list(String(p.type).split(',')) : String(p.type);
      const found = jsonType(valueOf(err, data));
      return r(`${path}: ${found} found, ${expected} expected`, [found, expected]);
    }
    case 'enum': {
      const values = list(Array.isArray(p.allowedValues) ? p.allowedValues : []);
      return r(`${path}: does not have a value in the enumeration ${values}`, [values]);
    }
    case 'pattern':
      return r(`${path}: does not match the regex pattern ${String(p.pattern)}`, [String(p.pattern)]);
    case 'format': {
      const format = String(p.format);
      if (VALUE_FORMATS.has(format)) return r(`${path}: ${show(valueOf(err, data))} is an invalid ${format}`, [format]);
      return r(`${path}: does not match the ${format} pattern`, [format]);
    }
    case 'minLength':
      return r(`${path}: must be at least ${String(p.limit)} characters long`, [String(p.limit)]);
    case 'maxLength':
      return r(`${path}: may only be ${String(p.limit)} characters long`, [String(p.limit)]);
    case 'minimum':
    case 'maximum': {
      const which = err.keyword === 'minimum' ? 'minimum' : 'maximum';
      const exclusive = p.comparison === '>' || p.comparison === '<';
      return r(`${path}: must have ${exclusive ? 'an exclusive' : 'a'} ${which} value of ${String(p.limit)}`, [String(p.limit)]);
    }
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return r(`${path}: must have an exclusive ${err.keyword === 'exclusiveMinimum' ? 'minimum' : 'maximum'} value of ${String(p.limit)}`, [String(p.limit)]);
    case 'multipleOf':
      return r(`${path}: must be multiple of ${String(p.multipleOf)}`, [String(p.multipleOf)]);
    case 'minItems':
      return r(`${path}: there must be a minimum of ${String(p.limit)} items in the array`, [String(p.limit)]);
    case 'maxItems':
      return r(`${path}: there must be a maximum of ${String(p.limit)} items in the array`, [String(p.limit)]);
    case 'uniqueItems':
      return r(`${path}: the items in the array must be unique (items ${String(p.j)} and ${String(p.i)} are equal)`, [String(p.j), String(p.i)]);
    case 'minProperties':
      return r(`${path}: should have a minimum of ${String(p.limit)} properties`, [String(p.limit)]);
    case 'maxProperties':
      return r(`${path}: may only have a maximum of ${String(p.limit)} properties`, [String(p.limit)]);
    case 'additionalItems':
      return r(`${path}[${String(p.limit)}]: no validator found at this index`, [String(p.limit)]);
    case 'dependencies':
      return r(`${path}: has an error with dependencies: ${childPath(path, String(p.missingProperty))} is required when ${String(p.property)} is present`, [String(p.property), String(p.missingProperty)]);
    case 'anyOf':
      return r(`${path}: should be valid to any of the schemas ${JSON.stringify(err.schema)}`);
    case 'oneOf':
      return r(`${path}: should be valid to one and only one of the schemas ${JSON.stringify(err.schema)}`);
    case 'not':
      return r(`${path}: should not be valid to the schema ${JSON.stringify(err.schema)}`);
    case 'false schema':
      return r(`${path}: Boolean schema false is not valid`);
    default:
      return r(`${path}: ${err.message ?? `fails ${err.keyword}`}`);
  }
}

/**
 * ajv's errors as data reports. Errors inside a failed `anyOf`/`oneOf` are left out: the combinator's
 * own report says which schemas the value had to match, and its branches' errors are noise.
 */
export function toDataReports(errors: readonly ErrorObject[] | null | undefined, data: unknown): DataReport[] {
  if (!errors || errors.length === 0) return [];
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !combinators.some((c) => e.schemaPath.startsWith(c))).map((e) => report(e, data));
}

function metaMessage(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'enum' && Array.isArray(p.allowedValues)) return `must be one of ${list(p.allowedValues)}`;
  return e.message ?? `fails ${e.keyword}`;
}

/**
 * The problems of a schema body against the draft-04 meta-schema ([] when there are none), one per
 * place: the alternatives of the meta-schema's `anyOf`s are joined with "or".
 */
export function schemaIssues(ajv: Ajv, body: Record<string, unknown>): SchemaIssue[] {
  if (ajv.validateSchema(body)) return [];
  const errors = ajv.errors ?? [];
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const issues = new Map<string, string[]>();
  for (const e of errors) {
    if (combinators.includes(e)) continue;
    const path = jsonPath(e.instancePath, body);
    const messages = issues.get(path) ?? [];
    const m = metaMessage(e);
    if (!messages.includes(m)) messages.push(m);
    issues.set(path, messages);
  }
  for (const c of combinators) {
    const path = jsonPath(c.instancePath, body);
    if (!issues.has(path)) issues.set(path, [metaMessage(c)]);
  }
  return [...issues].map(([path, messages]) => ({ path, message: `${path}: ${messages.join(' or ')}` }));
}

/**
 * Compiles a schema body (a self-describing schema without `$schema` and `self`, see
 * checkSelfDescribingSchema). Throws InvalidSchemaError, with `field` naming the part of the schema
 * at fault (`schema.properties.sku.type`), when it is not a valid draft-04 JSON Schema or cannot compile.
 */
export function compileIgluSchema(ajv: Ajv, body: Record<string, unknown>): DataValidator {
  const issues = schemaIssues(ajv, body);
  if (issues.length > 0) {
    const first = issues[0];
    const field = first.path === '$' ? 'schema' : `schema${first.path.slice(1)}`;
    throw new InvalidSchemaError(field, `not a valid JSON Schema (draft-04): ${issues.map((i) => i.message).join('; ')}`, issues);
  }
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(body);
  } catch (err) {
    // A failed compile leaves the schema in ajv's cache; nothing else will ever use it.
    ajv.removeSchema(body);
    const message = (err as Error).message;
    throw new InvalidSchemaError('schema', `the schema does not compile: ${message}`, [{ path: '$', message }]);
  }
  return (data) => (validate(data) ? [] : toDataReports(validate.errors, data));
}
