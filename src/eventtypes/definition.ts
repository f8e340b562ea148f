import crypto from 'node:crypto';
import { JSONPath } from 'jsonpath-plus';
import { DefinitionError } from '../shared/errors';
import { durationField } from '../shared/durations';
import { compileRowValidator, idProblem, MAX_SEGMENT_NAME, segmentColumns } from '../segments/columns';
import { isObject } from '../shared/json';
import { BoundedMemo } from '../shared/memo';

/** Event types as seed 001 defines them, pure: validation, naming, identity expressions. */

export const EVENT_TYPE_KINDS = ['data_in', 'live_segment', 'time_to_live', 'time_to_notify'] as const;
export type EventTypeKind = (typeof EVENT_TYPE_KINDS)[number];

export interface EventType {
  name: string;
  displayName: string;
  description: string;
  type: EventTypeKind;
  eventIdExpression: string;
  timestampExpression: string;
  correlationIdExpression: string;
  /** ISO-8601 duration events of this type are kept in the event store. */
  eventstoreTTL?: string;
  /** live_segment only: the JSON Schema of its rows. */
  schema?: Record<string, unknown>;
  /** live_segment only: the version of its table; the next number asks for a new table. */
  schemaVersion?: number;
}


/** Built-in types that cannot be deleted or redefined through the API. */
export const BUILT_IN_TYPES = new Set(['snowplow', 'profile-ttl', 'profile-ttn']);

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
// Seed 001: "the technical name was shortened to `livesegment-dataoutp`": 20 characters.
const DERIVED_NAME_LENGTH = 20;

/** The technical name derived from a display name, as seed 001 shows (lower case, 20 characters). */
export function technicalName(displayName: string): string {
  return displayName
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, DERIVED_NAME_LENGTH)
    .replace(/-+$/, '');
}

export type Expression =
  | { kind: 'randomUUID' }
  | { kind: 'nowMillis' }
  /** beltline's own: a Snowplow event's user: user_id, else domain_userid, else network_userid. */
  | { kind: 'snowplowUser' }
  | JsonPathExpression;

export interface JsonPathExpression {
  kind: 'jsonpath';
  path: string;
  /** The names of a plain dotted path (`$.a.b`: the common id and time expressions), read without jsonpath-plus; null for any other. */
  dotted: readonly string[] | null;
}

/**
 * Parsed expressions by their text. Every event evaluates its type's three expressions, and
 * checking a JSON path runs it once: parsing each once per process, not per event, took a fifth
 * of a batch's parse time. Bounded: it starts over past its size (a type's text never changes meaning).
 */
const parsedExpressions = new BoundedMemo<string, Expression>(10_000);

export function parseExpression(text: unknown, field: string): Expression {
  if (typeof text !== 'string') return parseExpressionText(text, field);
  return parsedExpressions.get(text, (t) => Object.freeze(parseExpressionText(t, field)));
}

function parseExpressionText(text: unknown, field: string): Expression {
  if (typeof text !== 'string' || text.trim() === '') throw new DefinitionError(field, 'must be #randomUUID(), #nowMillis() or a JSON path such as $.userId');
  const t = text.trim();
  if (t === '#randomUUID()') return { kind: 'randomUUID' };
  if (t === '#nowMillis()') return { kind: 'nowMillis' };
  if (t === '#snowplowUser()') return { kind: 'snowplowUser' };
  if (t.startsWith('$')) {
    const problem = jsonPathProblem(t);
    if (problem) throw new DefinitionError(field, `not a valid JSON path (${problem}): ${JSON.stringify(t)}`);
    return jsonPathExpression(t);
  }
  throw new DefinitionError(field, `unknown expression ${JSON.stringify(t)}: use #randomUUID(), #nowMillis() or a JSON path such as $.userId`);
}

/** jsonpath-plus reads almost any text somehow; these are the mistakes it would silently accept. */
function jsonPathProblem(path: string): string | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (const ch of path) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') {
      depth--;
      if (depth < 0) return 'unbalanced brackets';
    }
  }
  if (quote) return 'unterminated string';
  if (depth !== 0) return 'unbalanced brackets';
  if (/[.[]$/.test(path) && path !== '$..') return 'ends in the middle of a step';
  try {
    JSONPath({ path, json: {}, wrap: true });
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** What makes "random" and "now" reproducible: a replayed record must give the same ids. */
export interface ExpressionContext {
  /** Unique and stable per event (e.g. topic:partition:offset:index). */
  seed: string;
  /** The time the collector received the event, epoch ms. */
  receivedAt: number;
}

/** A UUID (v4 layout) derived from a seed: random-looking, but the same for the same seed. */
export function seededUuid(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const DOTTED = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

function jsonPathExpression(path: string): JsonPathExpression {
  return { kind: 'jsonpath', path, dotted: DOTTED.test(path) ? path.slice(2).split('.') : null };
}

/**
 * The first value a JSON path finds in a payload (undefined: none). A plain dotted path walks own
 * properties as jsonpath-plus does (a falsy or missing step finds nothing; test/unit/json-path
 * checks the two agree), about ten times faster; anything else goes to jsonpath-plus.
 */
export function matchPath(expr: JsonPathExpression, payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null) return undefined;
  if (expr.dotted !== null) {
    let node: unknown = payload;
    for (const key of expr.dotted) {
      if (!node || !Object.hasOwn(node as object, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  }
  const found: unknown[] = JSONPath({ path: expr.path, json: payload, wrap: true });
  return found[0];
}

function snowplowUser(payload: unknown): string | undefined {
  const p = (payload ?? {}) as Record<string, unknown>;
  for (const k of ['user_id', 'domain_userid', 'network_userid', 'event_id']) {
    if (typeof p[k] === 'string' && p[k] !== '') return p[k] as string;
  }
  return undefined;
}

/** Evaluates an id expression (event id, correlation id); throws DefinitionError when it yields nothing. */
export function evaluateId(expr: Expression, payload: unknown, ctx: ExpressionContext, field: string): string {
  switch (expr.kind) {
    case 'randomUUID':
      return seededUuid(`${field}:${ctx.seed}`);
    case 'nowMillis':
      return String(ctx.receivedAt);
    case 'snowplowUser': {
      const v = snowplowUser(payload);
      if (v) return v;
      throw new DefinitionError(field, 'the event has no user_id, domain_userid, network_userid or event_id');
    }
    case 'jsonpath': {
      const v = matchPath(expr, payload);
      if (typeof v === 'string' && v !== '') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw new DefinitionError(field, `${expr.path} found no string or number in the event`);
    }
  }
}

/** Evaluates a timestamp expression to epoch ms (numbers are ms, strings ISO-8601 dates). */
export function evaluateTimestamp(expr: Expression, payload: unknown, ctx: ExpressionContext, field: string): number {
  if (expr.kind === 'nowMillis') return ctx.receivedAt;
  if (expr.kind !== 'jsonpath') throw new DefinitionError(field, 'a timestamp expression is #nowMillis() or a JSON path');
  const v = matchPath(expr, payload);
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new DefinitionError(field, `${expr.path} found no timestamp (epoch ms or ISO-8601) in the event`);
}



/** A live segment's schema may arrive as an object, a string-escaped JSON, or seed 001's `{schema: "<escaped>"}`. */
export function parseSegmentSchema(raw: unknown): Record<string, unknown> {
  let schema: unknown = raw;
  if (isObject(schema) && typeof schema.schema === 'string' && Object.keys(schema).length === 1) schema = schema.schema;
  if (typeof schema === 'string') {
    try {
      schema = JSON.parse(schema);
    } catch (err) {
      throw new DefinitionError('schema', `not valid JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(schema)) throw new DefinitionError('schema', 'must be a JSON Schema object');
  const problem = idProblem(schema);
  if (problem) throw new DefinitionError('schema', problem);
  segmentColumns(schema);
  compileRowValidator(schema);
  return schema;
}

/** Validates an API body into an EventType; every error names its field. */
export function parseEventTypeBody(body: unknown, fixedName?: string): EventType {
  if (!isObject(body)) throw new DefinitionError('body', 'must be a JSON object');
  const displayName = body.displayName ?? body.name;
  if (typeof displayName !== 'string' || displayName.trim() === '') throw new DefinitionError('displayName', 'is required');
  const name = fixedName ?? (typeof body.name === 'string' && body.name !== '' ? body.name : technicalName(displayName));
  if (!NAME.test(name)) throw new DefinitionError('name', `must be 1-63 lower-case letters, digits, _ or -, starting with a letter or digit; got ${JSON.stringify(name)}`);
  const type = body.type ?? 'data_in';
  if (typeof type !== 'string' || !(EVENT_TYPE_KINDS as readonly string[]).includes(type)) {
    throw new DefinitionError('type', `must be one of ${EVENT_TYPE_KINDS.join(', ')}`);
  }
  const description = body.description ?? '';
  if (typeof description !== 'string') throw new DefinitionError('description', 'must be a string');
  const eventIdExpression = (body.eventIdExpression as string | undefined) ?? '#randomUUID()';
  const timestampExpression = (body.timestampExpression as string | undefined) ?? '#nowMillis()';
  const correlationIdExpression = (body.correlationIdExpression as string | undefined) ?? '#randomUUID()';
  parseExpression(eventIdExpression, 'eventIdExpression');
  const ts = parseExpression(timestampExpression, 'timestampExpression');
  if (ts.kind === 'randomUUID' || ts.kind === 'snowplowUser') throw new DefinitionError('timestampExpression', 'must be #nowMillis() or a JSON path');
  parseExpression(correlationIdExpression, 'correlationIdExpression');
  let eventstoreTTL: string | undefined;
  if (body.eventstoreTTL !== undefined && body.eventstoreTTL !== null) {
    if (typeof body.eventstoreTTL !== 'string') throw new DefinitionError('eventstoreTTL', 'must be an ISO-8601 duration such as P30D');
    if (durationField(body.eventstoreTTL, 'eventstoreTTL') <= 0) throw new DefinitionError('eventstoreTTL', 'must be a positive duration');
    eventstoreTTL = body.eventstoreTTL;
  }
  let schema: Record<string, unknown> | undefined;
  if (type === 'live_segment') {
    if (body.schema === undefined) throw new DefinitionError('schema', 'a live_segment event type needs a JSON Schema');
    schema = parseSegmentSchema(body.schema);
    if (name.length > MAX_SEGMENT_NAME) throw new DefinitionError('name', `a live_segment name has at most ${MAX_SEGMENT_NAME} characters (its table name must fit PostgreSQL's 63); got ${name.length}`);
  } else if (body.schema !== undefined) {
    throw new DefinitionError('schema', `only live_segment event types take a schema, this one is ${type}`);
  }
  let schemaVersion: number | undefined;
  if (body.schemaVersion !== undefined && body.schemaVersion !== null) {
    if (type !== 'live_segment') throw new DefinitionError('schemaVersion', `only live_segment event types have a schemaVersion, this one is ${type}`);
    if (typeof body.schemaVersion !== 'number' || !Number.isInteger(body.schemaVersion) || body.schemaVersion < 1) {
      throw new DefinitionError('schemaVersion', 'must be a positive integer');
    }
    schemaVersion = body.schemaVersion;
  }
  return {
    name,
    displayName: displayName.trim(),
    description,
    type: type as EventTypeKind,
    eventIdExpression,
    timestampExpression,
    correlationIdExpression,
    eventstoreTTL,
    schema,
    ...(schemaVersion ? { schemaVersion } : {}),
  };
}
