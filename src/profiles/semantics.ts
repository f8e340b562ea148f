import { durationOrNull } from '../shared/durations';
import { updateProblem } from './update-schema';
import { isObject } from '../shared/json';
import { BoundedMemo } from '../shared/memo';

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

export const OPERATIONS = ['_set', '_set_with_history', '_delete', '_increment', '_set_once', '_add_to_set', '_remove_from_set', '_link'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface UpdateValue {
  _v?: Json;
  /** Time the value holds from: epoch ms or an ISO-8601 date; defaults to the event's time. */
  _in?: string | number;
  /** Confidence 0..1. */
  _c?: number;
  /** ISO-8601 duration after which the value expires (from `_in`). */
  _ttl?: string;
  /** ISO-8601 duration after which a time_to_notify event is emitted; the value stays. */
  _ttn?: string;
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
  /** Written by _set_once: among such writes the earliest wins. */
  once?: true;
  /** Written by _set_with_history: the values it replaces, or loses to, are kept. */
  h?: true;
}

/** A value that was replaced (or lost) at a path written with _set_with_history. */
export interface HistoryEntry {
  path: string[];
  value: Json | undefined;
  in: number;
  eid: string;
  /** The event whose value won. */
  replacedBy: string;
}

/** A time-to-live or time-to-notify due for a value, as written. */
export interface Scheduled {
  path: string[];
  kind: 'ttl' | 'ttn';
  /** Epoch ms. */
  dueAt: number;
  stamp: { in: number; eid: string };
}

/** What applying updates leads to beyond the document: history rows and expirations to schedule. */
export interface Effects {
  history: HistoryEntry[];
  schedule: Scheduled[];
}

export const noEffects = (): Effects => ({ history: [], schedule: [] });

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


/**
 * Keys that, used as a property name on a plain object, reach Object.prototype (or its
 * constructor) instead of a key of the document: a belt's `_path` is user input.
 */
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const unsafeKey = (path: readonly string[]): string | undefined => path.find((k) => UNSAFE_KEYS.has(k));

/** Refuses a path with a segment that would reach the object prototype. */
function checkPath(path: readonly string[]): void {
  const bad = unsafeKey(path);
  if (bad !== undefined) {
    throw new UpdateError('_path', `${JSON.stringify(bad)} cannot be a path segment (${[...UNSAFE_KEYS].map((k) => JSON.stringify(k)).join(', ')} are reserved)`);
  }
}

/** Checks the shape of one update message and returns it typed; the error names the field. */
export function parseUpdate(raw: unknown): ProfileUpdate {
  const problem = updateProblem(raw);
  if (problem) throw new UpdateError(problem.field, problem.message);
  const u = raw as ProfileUpdate;
  if (u._operation === '_link') {
    if (u._value?._v === u._id) throw new UpdateError('_value._v', 'a profile cannot be linked to itself');
    return { ...u, _path: [] };
  }
  checkPath(u._path);
  return u;
}

/**
 * The instants a stamp or an expiry may have: year 1 (merges stamp with -1) to the end of 9999.
 * Past them PostgreSQL refuses the write (a bigint stamp, a timestamptz due time), which would
 * fail the whole batch for one update.
 */
const MIN_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export function parseInstant(v: unknown): number {
  let ms = Number.NaN;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') ms = Date.parse(v);
  if (ms >= MIN_INSTANT && ms <= MAX_INSTANT) return ms;
  throw new UpdateError('_value._in', `must be epoch milliseconds or an ISO-8601 date from year 1 to 9999, got ${JSON.stringify(v)}`);
}

/**
 * A number JSON cannot carry (Infinity, NaN: a Python belt's integer past 1e308 parses as
 * Infinity) would be stored as null while the state in memory, which a worker keeps for its
 * next batches (see cache.ts), held the number: such a value is refused instead.
 */
function hasNonFinite(v: Json | undefined): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (isObject(v)) return Object.values(v).some(hasNonFinite);
  return false;
}

/** Refuses a time-to-live or time-to-notify that would fall after 9999 (before anything changes). */
function checkExpiry(update: ProfileUpdate, at: number): void {
  for (const field of ['_ttl', '_ttn'] as const) {
    const d = update._value?.[field];
    const ms = d ? durationOrNull(d) : null;
    if (ms !== null && !(at + ms <= MAX_INSTANT)) throw new UpdateError(`_value.${field}`, `${d} from ${new Date(at).toISOString()} falls after 9999-12-31`);
  }
}

const keyOf = (path: readonly string[]): string => JSON.stringify(path);
// Set elements keep their own stamps, under keys that never parse as a path.
const setKeyOf = (path: readonly string[]): string => `set:${keyOf(path)}`;


function isPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  return prefix.length < path.length && prefix.every((k, i) => path[i] === k);
}

/** Stamp order: time first, then event id, so ties resolve the same way everywhere. */
export function compareStamps(a: Pick<Stamp, 'in' | 'eid'>, b: Pick<Stamp, 'in' | 'eid'>): number {
  return a.in !== b.in ? a.in - b.in : a.eid < b.eid ? -1 : a.eid > b.eid ? 1 : 0;
}

function writeAt(doc: JsonObject, path: readonly string[], stamp: Stamp): void {
  // The last line of defence: every caller filters such paths out before.
  checkPath(path);
  let node: JsonObject = doc;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isObject(next)) node[key] = {};
    node = node[key] as JsonObject;
  }
  const leaf = path[path.length - 1];
  if (stamp.del) delete node[leaf];
  else node[leaf] = copyOf(stamp.v ?? null);
}

/** The document must not share objects with stamps; a primitive needs no copy (and structuredClone of one is not free). */
const copyOf = (v: Json): Json => (typeof v === 'object' && v !== null ? structuredClone(v) : v);

function readAt(doc: JsonObject, path: readonly string[]): Json | undefined {
  let node: Json | undefined = doc;
  for (const key of path) {
    // Own keys only: an inherited one (`constructor`, `__proto__`) is not in the document.
    if (!isObject(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

// Stamps of unsafe paths can only come from before they were refused; they never had a value in
// the document, so they are left out rather than re-applied.
function entries(state: ProfileState): { path: readonly string[]; key: string; stamp: Stamp }[] {
  const out: { path: readonly string[]; key: string; stamp: Stamp }[] = [];
  for (const [k, st] of Object.entries(state.stamps)) {
    if (!k.startsWith('[')) continue;
    const path = pathOfKey(k);
    if (unsafeKey(path) === undefined) out.push({ path, key: k, stamp: st });
  }
  return out;
}

/**
 * Every update reads all of its profile's stamp keys back as paths: a profile's keys come from a
 * small vocabulary of attribute paths, so they are parsed once (frozen: shared by every caller)
 * in a cache that starts over when it grows past its bound.
 */
const parsedKeys = new BoundedMemo<string, readonly string[]>(10_000);
const parseKey = (key: string): readonly string[] => Object.freeze(JSON.parse(key) as string[]);
const pathOfKey = (key: string): readonly string[] => parsedKeys.get(key, parseKey);

/** The latest write that replaced `path` wholesale: of the path itself or of an ancestor. */
function coveringStamp(state: ProfileState, path: readonly string[]): Stamp | undefined {
  let best: Stamp | undefined;
  for (let n = 1; n <= path.length; n++) {
    const st = state.stamps[keyOf(path.slice(0, n))];
    if (st && (!best || compareStamps(st, best) > 0)) best = st;
  }
  return best;
}

type ElementStamps = Record<string, { in: number; eid: string; del?: true }>;

/** Rewrites a set's array from its elements: those added after any covering write and not removed since. */
function recomputeSet(state: ProfileState, path: string[]): void {
  const elems = (state.stamps[setKeyOf(path)] ?? {}) as unknown as ElementStamps;
  const cover = coveringStamp(state, path);
  const present = Object.entries(elems)
    .filter(([, st]) => !st.del && (!cover || compareStamps(st, cover) > 0))
    .map(([json]) => json)
    .sort();
  writeAt(state.document, path, { in: 0, eid: '', v: present.map((j) => JSON.parse(j) as Json) });
}

/**
 * After a write at `path`, the sets at, below or above it are recomputed: a set's path always
 * shows the set (writes below it are shadowed), whatever order the writes came in.
 */
function recomputeSetsAround(state: ProfileState, path: readonly string[]): void {
  const related = Object.keys(state.stamps)
    .filter((k) => k.startsWith('set:'))
    .map((k) => JSON.parse(k.slice(4)) as string[])
    .filter((p) => unsafeKey(p) === undefined)
    .filter((p) => p.slice(0, Math.min(p.length, path.length)).every((x, i) => path[i] === x))
    // Innermost first, so an enclosing set has the last word.
    .sort((a, b) => b.length - a.length || keyOf(a).localeCompare(keyOf(b)));
  for (const p of related) recomputeSet(state, p);
}

function schedule(update: ProfileUpdate, stamp: Stamp, at: number, effects: Effects | undefined): void {
  for (const [kind, field] of [['ttl', '_ttl'], ['ttn', '_ttn']] as const) {
    const d = update._value?.[field];
    const ms = d ? durationOrNull(d) : null;
    if (ms !== null && effects) effects.schedule.push({ path: update._path, kind, dueAt: at + ms, stamp: { in: stamp.in, eid: stamp.eid } });
  }
}

/**
 * Applies one update to a profile's state in place. Returns false when the update lost to a
 * later write (nothing changed). History rows and expirations to schedule go to `effects`.
 */
export function applyUpdate(state: ProfileState, update: ProfileUpdate, ctx: EventContext, effects?: Effects): boolean {
  const op = update._operation ?? '_set';
  const path = update._path;
  // Before anything changes, so a refused update leaves the state as it was.
  checkPath(path);
  const at = update._value?._in !== undefined ? parseInstant(update._value._in) : ctx.created;
  checkExpiry(update, at);
  if (hasNonFinite(update._value?._v)) throw new UpdateError('_value._v', 'holds a number JSON cannot represent (Infinity or NaN)');

  if (op === '_increment') {
    // Counters commute, so they need no stamp; at-most-once per event is the store's job.
    const current = readAt(state.document, path);
    const next = (typeof current === 'number' ? current : 0) + (update._value?._v as number);
    if (!Number.isFinite(next)) throw new UpdateError('_value._v', `adding ${String(update._value?._v)} to ${String(current)} goes past the largest number JSON can represent`);
    writeAt(state.document, path, { in: ctx.created, eid: ctx.eventId, v: next });
    return true;
  }

  if (op === '_add_to_set' || op === '_remove_from_set') {
    // Per element, the latest add or remove wins: an element set that converges in any order.
    const key = setKeyOf(path);
    const elems = ((state.stamps[key] as unknown as ElementStamps | undefined) ?? {}) as ElementStamps;
    const values = Array.isArray(update._value?._v) ? update._value._v : [update._value?._v ?? null];
    let changed = false;
    for (const v of values) {
      const json = JSON.stringify(v);
      const stamp = { in: at, eid: ctx.eventId, ...(op === '_remove_from_set' ? { del: true as const } : {}) };
      const old = elems[json];
      if (old && compareStamps(old, stamp) >= 0) continue;
      elems[json] = stamp;
      changed = true;
    }
    state.stamps[key] = elems as unknown as Stamp;
    recomputeSetsAround(state, path);
    return changed;
  }

  // _set_once is last-writer-wins on negated time: among once writes the earliest wins, and any
  // real write (positive time) beats them; the general LWW machinery then gives convergence.
  const stamp: Stamp = { in: op === '_set_once' ? -at : at, eid: ctx.eventId };
  if (op === '_delete') stamp.del = true;
  else {
    stamp.v = update._value?._v ?? null;
    if (update._value?._c !== undefined) stamp.c = update._value._c;
  }
  if (op === '_set_once') stamp.once = true;
  if (op === '_set_with_history') stamp.h = true;

  const all = entries(state);
  const ownKey = keyOf(path);
  const own = state.stamps[ownKey];
  const history = (loser: Stamp, winner: Stamp): void => {
    if ((loser.h || winner.h) && !loser.del && effects) {
      effects.history.push({ path, value: loser.v, in: loser.in, eid: loser.eid, replacedBy: winner.eid });
    }
  };
  // Lost to an equal-or-later write of this path or of an ancestor that replaced it.
  for (const e of all) {
    const covers = e.key === ownKey || isPrefix(e.path, path);
    if (covers && compareStamps(e.stamp, stamp) >= 0) {
      if (e.key === ownKey) history(stamp, e.stamp);
      return false;
    }
  }
  if (own) history(own, stamp);

  writeAt(state.document, path, stamp);
  const later: { path: readonly string[]; key: string; stamp: Stamp }[] = [];
  for (const e of all) {
    if (!isPrefix(path, e.path)) continue;
    delete state.stamps[e.key];
    if (compareStamps(e.stamp, stamp) > 0) later.push(e);
  }
  state.stamps[ownKey] = stamp;
  later.sort((a, b) => compareStamps(a.stamp, b.stamp));
  for (const e of later) {
    writeAt(state.document, e.path, e.stamp);
    state.stamps[e.key] = e.stamp;
  }
  recomputeSetsAround(state, path);
  if (!stamp.del) schedule(update, stamp, at, effects);
  return true;
}

/**
 * Expires the value at `path` if it is still the one written with `expected` (not refreshed
 * since): a tombstone with that stamp takes its place, so an older write arriving later stays out.
 * Returns the expired value, or undefined when there was nothing to expire.
 */
export function expireValue(state: ProfileState, path: string[], expected: { in: number; eid: string }): { value: Json } | undefined {
  const st = state.stamps[keyOf(path)];
  if (unsafeKey(path) !== undefined || !st || st.del || st.in !== expected.in || st.eid !== expected.eid) return undefined;
  const value = readAt(state.document, path) ?? null;
  state.stamps[keyOf(path)] = { in: st.in, eid: st.eid, del: true };
  writeAt(state.document, path, { in: st.in, eid: st.eid, del: true });
  recomputeSetsAround(state, path);
  return { value };
}

/**
 * Merges `from` into `into` under the same rules every update follows: each path keeps the write
 * with the later stamp, set elements merge per element, counters (unstamped numbers) add up.
 * Merging the same states in any order gives the same document.
 */
export function mergeStates(into: ProfileState, from: ProfileState): void {
  const counters = unstampedNumbers(from);
  const fromEntries = entries(from).sort((a, b) => a.path.length - b.path.length || compareStamps(a.stamp, b.stamp));
  for (const e of fromEntries) {
    const update: ProfileUpdate = e.stamp.del
      ? { _id: '', _operation: '_delete', _path: [...e.path] }
      : { _id: '', _operation: e.stamp.h ? '_set_with_history' : '_set', _path: [...e.path], _value: { _v: e.stamp.v ?? null, _in: e.stamp.in } };
    applyUpdate(into, update, { eventId: e.stamp.eid, created: e.stamp.in });
  }
  for (const [k, elems] of Object.entries(from.stamps)) {
    if (!k.startsWith('set:') || unsafeKey(JSON.parse(k.slice(4)) as string[]) !== undefined) continue;
    const mine = ((into.stamps[k] as unknown as ElementStamps | undefined) ?? {}) as ElementStamps;
    for (const [json, st] of Object.entries(elems as unknown as ElementStamps)) {
      if (!mine[json] || compareStamps(mine[json], st) < 0) mine[json] = st;
    }
    into.stamps[k] = mine as unknown as Stamp;
    recomputeSetsAround(into, JSON.parse(k.slice(4)) as string[]);
  }
  for (const { path, value } of counters) {
    const current = readAt(into.document, path);
    writeAt(into.document, path, { in: 0, eid: '', v: (typeof current === 'number' ? current : 0) + value });
  }
}

/** Numbers in the document that no stamp covers: the counters _increment keeps. */
function unstampedNumbers(state: ProfileState): { path: string[]; value: number }[] {
  const out: { path: string[]; value: number }[] = [];
  const walk = (node: Json, path: string[]): void => {
    if (state.stamps[keyOf(path)] || state.stamps[setKeyOf(path)] || unsafeKey(path) !== undefined) return;
    if (typeof node === 'number' && path.length > 0) out.push({ path, value: node });
    else if (isObject(node)) for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(state.document, []);
  return out;
}
