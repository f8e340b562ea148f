/**
 * What the collector refuses at the door (400 naming the event and field), so that a hostile or
 * broken tracker learns it at once and nothing out of bounds reaches Kafka. Pure: no I/O.
 *
 * The worker checks the same bounds again (identify(), storage checks): a record already in Kafka,
 * or written by another producer, still becomes a bad row, never a failed batch.
 */
import { evaluateTimestamp, matchPath, parseExpression, type EventType } from '../eventtypes/definition';
import { DefinitionError } from '../shared/errors';
import type { TrackerParams } from '../snowplow/tp2';
import { MAX_EVENT_TIME, MAX_ID_LENGTH, MIN_EVENT_TIME } from '../events/expand';

export interface CollectorBounds {
  /** Events one request may carry (tp2 `data` items, a JSON array's items). */
  maxEvents: number;
  /** Characters an id may have (event id, user ids, session id); at most MAX_ID_LENGTH. */
  maxIdChars: number;
  /** UTF-8 bytes one string may take: a tp2 parameter's value, a JSON event's string or key. */
  maxFieldBytes: number;
  /** How deeply a JSON event may nest objects and arrays. */
  maxJsonDepth: number;
}

export const DEFAULT_BOUNDS: CollectorBounds = { maxEvents: 1000, maxIdChars: MAX_ID_LENGTH, maxFieldBytes: 131_072, maxJsonDepth: 100 };

/** The first thing out of bounds in a request: the event (its index in the request) and the field. */
export interface BoundsViolation {
  /** Index of the event in the request (tp2 `data[i]`, the JSON array's item); absent for the request as a whole. */
  index?: number;
  /** The tracker parameter (`eid`, `dtm`, …), JSON path (`$.ts`, `$.a.b`) or `data`/`events` for the count. */
  field: string;
  reason: string;
}

/** Tracker parameters that are ids: the event's own and the user's, the session's. */
export const TRACKER_ID_PARAMS = ['eid', 'uid', 'duid', 'nuid', 'tnuid', 'sid', 'e'] as const;
/** Tracker parameters that are times, epoch ms. */
export const TRACKER_TIME_PARAMS = ['dtm', 'stm', 'ttm'] as const;

const YEAR_RANGE = 'epoch ms from 1970-01-01 to 9999-12-31';

/** The string's UTF-8 size when over `max`; a string of n UTF-16 units takes at most 3n bytes, so most are not measured. */
function tooBig(s: string, max: number): number | undefined {
  if (s.length * 3 <= max) return undefined;
  const bytes = Buffer.byteLength(s);
  return bytes > max ? bytes : undefined;
}

function countViolation(n: number, b: CollectorBounds, field: string): BoundsViolation | undefined {
  if (n <= b.maxEvents) return undefined;
  return { field, reason: `the request carries ${n} events; a request may carry at most ${b.maxEvents}` };
}

// What each bounded tracker parameter is, for the one-pass check.
const PARAM_KIND = new Map<string, 'id' | 'time'>([...TRACKER_ID_PARAMS.map((p) => [p, 'id'] as const), ...TRACKER_TIME_PARAMS.map((p) => [p, 'time'] as const)]);

/** `/^\d{1,16}$/` and in range, without a regex: this runs for every time of every event. */
function inTimeRange(v: string): boolean {
  if (v.length === 0 || v.length > 16) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  const ms = Number(v);
  return ms >= MIN_EVENT_TIME && ms <= MAX_EVENT_TIME;
}

/**
 * Whether an event is within bounds, in one pass over its parameters. Every event of every request
 * is checked (1.5–3.3 µs an event with the ordered check below, which walks the parameters three
 * times); the ordered check runs only for an event this one refuses, to name the first violation.
 */
function withinBounds(params: TrackerParams, b: CollectorBounds): boolean {
  for (const field in params) {
    if (!Object.hasOwn(params, field)) continue;
    const v = params[field];
    if (field.length > b.maxIdChars || v.length * 3 > b.maxFieldBytes) return false;
    const kind = PARAM_KIND.get(field);
    if (kind === 'id' ? v.length > b.maxIdChars : kind === 'time' && v !== '' && !inTimeRange(v)) return false;
  }
  return true;
}

/** Checks tracker events (tp2 POST or GET /i) against the bounds; the first violation, or undefined. */
export function checkTrackerEvents(events: readonly TrackerParams[], b: CollectorBounds): BoundsViolation | undefined {
  const count = countViolation(events.length, b, 'data');
  if (count) return count;
  for (let index = 0; index < events.length; index++) {
    const params = events[index];
    if (withinBounds(params, b)) continue;
    for (const field of TRACKER_ID_PARAMS) {
      const v = Object.hasOwn(params, field) ? params[field] : undefined;
      if (v !== undefined && v.length > b.maxIdChars) return { index, field, reason: `the id is ${v.length} characters long; an id has at most ${b.maxIdChars}` };
    }
    for (const field of TRACKER_TIME_PARAMS) {
      const v = Object.hasOwn(params, field) ? params[field] : undefined;
      // Empty is absent, as Enrich reads it.
      if (v === undefined || v === '') continue;
      if (!/^\d{1,16}$/.test(v)) return { index, field, reason: `${JSON.stringify(v.slice(0, 40))} is not a timestamp (${YEAR_RANGE})` };
      const ms = Number(v);
      if (ms < MIN_EVENT_TIME || ms > MAX_EVENT_TIME) return { index, field, reason: `${v} is out of range (${YEAR_RANGE})` };
    }
    for (const [field, v] of Object.entries(params)) {
      if (field.length > b.maxIdChars) return { index, field: field.slice(0, 40), reason: `a parameter name is ${field.length} characters long; at most ${b.maxIdChars}` };
      const bytes = tooBig(v, b.maxFieldBytes);
      if (bytes !== undefined) return { index, field, reason: `the value takes ${bytes} bytes; a field may take at most ${b.maxFieldBytes}` };
    }
  }
  return undefined;
}

/** The first string too large or nesting too deep in a JSON value, walked without recursion. */
function jsonViolation(value: unknown, b: CollectorBounds): Omit<BoundsViolation, 'index'> | undefined {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '$', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop() as { v: unknown; path: string; depth: number };
    if (typeof v === 'string') {
      const bytes = tooBig(v, b.maxFieldBytes);
      if (bytes !== undefined) return { field: path, reason: `the string takes ${bytes} bytes; a field may take at most ${b.maxFieldBytes}` };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= b.maxJsonDepth) return { field: path, reason: `the event nests deeper than ${b.maxJsonDepth} levels` };
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      const keyBytes = tooBig(k, b.maxFieldBytes);
      if (keyBytes !== undefined) return { field: path, reason: `a key takes ${keyBytes} bytes; a field may take at most ${b.maxFieldBytes}` };
      stack.push({ v: item, path: /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k.slice(0, 40))}]`, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * What the event type's expressions find in an event, checked: an id too long, a time that is
 * no timestamp or out of range. What they do not find is no violation here: such an event becomes
 * a bad row in the worker, as before (its type may be changed to find it, then the row recovered).
 */
function identityViolation(type: EventType, payload: unknown, b: CollectorBounds): Omit<BoundsViolation, 'index'> | undefined {
  for (const text of [type.eventIdExpression, type.correlationIdExpression]) {
    const expr = parseExpression(text, 'id');
    if (expr.kind !== 'jsonpath') continue;
    const v = matchPath(expr, payload);
    if (typeof v === 'string' && v.length > b.maxIdChars) return { field: expr.path, reason: `the id is ${v.length} characters long; an id has at most ${b.maxIdChars}` };
  }
  const ts = parseExpression(type.timestampExpression, 'timestampExpression');
  if (ts.kind !== 'jsonpath' || matchPath(ts, payload) === undefined) return undefined;
  let ms: number;
  try {
    ms = evaluateTimestamp(ts, payload, { seed: '', receivedAt: 0 }, ts.path);
  } catch (err) {
    if (err instanceof DefinitionError) return { field: ts.path, reason: `not a timestamp (${YEAR_RANGE}, or an ISO-8601 date)` };
    throw err;
  }
  if (!(ms >= MIN_EVENT_TIME && ms <= MAX_EVENT_TIME)) return { field: ts.path, reason: `${String(ms)} is out of range (${YEAR_RANGE})` };
  return undefined;
}

/** Checks plain JSON events of one event type against the bounds; the first violation, or undefined. */
export function checkJsonEvents(type: EventType, events: readonly unknown[], b: CollectorBounds): BoundsViolation | undefined {
  const count = countViolation(events.length, b, 'events');
  if (count) return count;
  for (let index = 0; index < events.length; index++) {
    const v = jsonViolation(events[index], b) ?? identityViolation(type, events[index], b);
    if (v) return { index, ...v };
  }
  return undefined;
}

/** The 400 message of a violation: `data[3].eid: the id is …`. */
export function describeViolation(v: BoundsViolation, list: 'data' | 'events'): string {
  const where = v.index === undefined ? v.field : list === 'data' ? `data[${v.index}].${v.field}` : `events[${v.index}] ${v.field}`;
  return `${where}: ${v.reason}`;
}
