/**
 * Profile update semantics (seed 000, "PROFILESPECS"), pure: no I/O.
 *
 * Convergence rule: every path written carries a stamp (time `_in`, then event id as tie-break).
 * The document is, by construction, what replaying the surviving writes in stamp order gives, so
 * the same set of updates yields the same document in any arrival order. A write under a path
 * that a later-stamped write replaced is moot and dropped; a write that replaces a path drops the
 * earlier-stamped writes below it and re-applies the later-stamped ones on top.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export const OPERATIONS = ['_set', '_delete', '_increment'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface UpdateValue {
  _v?: Json;
  /** Time the value holds from: epoch ms or an ISO-8601 date; defaults to the event's time. */
  _in?: string | number;
  /** Confidence 0..1. */
  _c?: number;
  /** ISO-8601 duration after which the value expires. */
  _ttl?: string;
}

export interface ProfileUpdate {
  _schema?: 'update_1';
  _operation?: Operation;
  _id: string;
  _path: string[];
  _value?: UpdateValue;
}

export interface Stamp {
  /** Epoch ms the value holds from. */
  in: number;
  /** The event that wrote it; breaks ties between equal times. */
  eid: string;
  /** The value written, kept so it can be re-applied when an older write replaces an ancestor. */
  v?: Json;
  /** A tombstone: the path was deleted at this stamp. */
  del?: true;
  c?: number;
}

export interface ProfileState {
  document: JsonObject;
  stamps: Record<string, Stamp>;
}

export interface EventContext {
  eventId: string;
  /** Epoch ms of the event's creation, the default `_in`. */
  created: number;
}

export class UpdateError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'UpdateError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape of one update message and returns it typed; the error names the field. */
export function parseUpdate(raw: unknown): ProfileUpdate {
  if (!isObject(raw)) throw new UpdateError('update', 'must be an object');
  if (raw._schema !== undefined && raw._schema !== 'update_1') {
    throw new UpdateError('_schema', `must be "update_1", got ${JSON.stringify(raw._schema)}`);
  }
  const op = raw._operation ?? '_set';
  if (typeof op !== 'string' || !(OPERATIONS as readonly string[]).includes(op)) {
    throw new UpdateError('_operation', `must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(op)}`);
  }
  if (typeof raw._id !== 'string' || raw._id === '') throw new UpdateError('_id', 'must be a non-empty string');
  const p = raw._path;
  if (!Array.isArray(p) || p.length === 0 || !p.every((k) => typeof k === 'string' && k !== '')) {
    throw new UpdateError('_path', 'must be an array of at least one non-empty string');
  }
  const value = raw._value;
  if (op !== '_delete') {
    if (!isObject(value)) throw new UpdateError('_value', 'must be an object {_v, _in?, _c?, _ttl?}');
    if (!('_v' in value)) throw new UpdateError('_value._v', 'is required');
    if (op === '_increment' && typeof value._v !== 'number') throw new UpdateError('_value._v', 'must be a number for _increment');
  }
  if (isObject(value)) {
    if (value._in !== undefined) parseInstant(value._in);
    if (value._c !== undefined && (typeof value._c !== 'number' || value._c < 0 || value._c > 1)) {
      throw new UpdateError('_value._c', 'must be a number from 0 to 1');
    }
  }
  return raw as unknown as ProfileUpdate;
}

export function parseInstant(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UpdateError('_value._in', `must be epoch milliseconds or an ISO-8601 date, got ${JSON.stringify(v)}`);
}

const keyOf = (path: readonly string[]): string => JSON.stringify(path);

function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length < path.length && prefix.every((k, i) => path[i] === k);
}

/** Stamp order: time first, then event id, so ties resolve the same way everywhere. */
export function compareStamps(a: Pick<Stamp, 'in' | 'eid'>, b: Pick<Stamp, 'in' | 'eid'>): number {
  return a.in !== b.in ? a.in - b.in : a.eid < b.eid ? -1 : a.eid > b.eid ? 1 : 0;
}

function writeAt(doc: JsonObject, path: readonly string[], stamp: Stamp): void {
  let node: JsonObject = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isObject(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  const leaf = path[path.length - 1];
  if (stamp.del) delete node[leaf];
  else node[leaf] = structuredClone(stamp.v ?? null);
}

function readAt(doc: JsonObject, path: readonly string[]): Json | undefined {
  let node: Json | undefined = doc;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * Applies one update to a profile's state in place. Returns false when the update lost to a
 * later write (nothing changed).
 */
export function applyUpdate(state: ProfileState, update: ProfileUpdate, ctx: EventContext): boolean {
  const op = update._operation ?? '_set';
  const path = update._path;

  if (op === '_increment') {
    // Counters commute, so they need no stamp; at-most-once per event is the store's job.
    const current = readAt(state.document, path);
    const next = (typeof current === 'number' ? current : 0) + (update._value?._v as number);
    writeAt(state.document, path, { in: ctx.created, eid: ctx.eventId, v: next });
    return true;
  }

  const stamp: Stamp = {
    in: update._value?._in !== undefined ? parseInstant(update._value._in) : ctx.created,
    eid: ctx.eventId,
  };
  if (op === '_delete') stamp.del = true;
  else {
    stamp.v = update._value?._v ?? null;
    if (update._value?._c !== undefined) stamp.c = update._value._c;
  }

  const parsed = Object.entries(state.stamps).map(([k, s]) => ({ path: JSON.parse(k) as string[], key: k, stamp: s }));
  // Lost to an equal-or-later write of this path or of an ancestor that replaced it.
  for (const e of parsed) {
    const covers = e.key === keyOf(path) || isPrefix(e.path, path);
    if (covers && compareStamps(e.stamp, stamp) >= 0) return false;
  }

  writeAt(state.document, path, stamp);
  const later: { path: string[]; stamp: Stamp }[] = [];
  for (const e of parsed) {
    if (!isPrefix(path, e.path)) continue;
    delete state.stamps[e.key];
    if (compareStamps(e.stamp, stamp) > 0) later.push(e);
  }
  state.stamps[keyOf(path)] = stamp;
  later.sort((a, b) => compareStamps(a.stamp, b.stamp));
  for (const e of later) {
    writeAt(state.document, e.path, e.stamp);
    state.stamps[keyOf(e.path)] = e.stamp;
  }
  return true;
}
