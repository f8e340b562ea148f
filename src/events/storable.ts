/**
 * What PostgreSQL refuses to store, found before it is sent: one such value in a statement that
 * writes a whole batch fails the batch (every retry alike). Pure: no I/O.
 *
 * Measured on PostgreSQL 16: jsonb refuses `\u0000` in strings and keys ("unsupported Unicode
 * escape sequence") and lone surrogates (`\ud800`, "invalid input syntax"); text refuses NUL;
 * a jsonb document nested some 10,000+ levels deep fails with "stack depth limit exceeded".
 */
import { badRow } from '../badrows/format';
import type { KeyedBadRow, PipelineEvent } from './expand';

/** The deepest nesting an event stored in the event store may have: far under PostgreSQL's stack. */
export const MAX_STORED_DEPTH = 1000;

/** Characters a stand-in for a subtree nested too deeply keeps of its JSON. */
const DEEP_KEEP_CHARS = 10_000;

export interface StorageProblem {
  /** Where: a JSON path into the value (`$.a[3].b`). */
  path: string;
  reason: string;
}

// NUL, or a surrogate half without its other half.
const UNSTORABLE_CHAR = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_CHARS = new RegExp(UNSTORABLE_CHAR.source, 'g');

function stringProblem(s: string): string | undefined {
  if (!UNSTORABLE_CHAR.test(s)) return undefined;
  return s.includes('\u0000') ? 'holds a NUL character (\\u0000), which PostgreSQL cannot store' : 'holds a lone UTF-16 surrogate, which is no Unicode text';
}

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(storableString(key.slice(0, 40)))}]`;
}

/** A node being walked: its path is built from its parents only when it has a problem. */
interface Walked {
  v: unknown;
  parent: Walked | undefined;
  key: string | number;
  depth: number;
}

function pathOf(node: Walked): string {
  const keys: (string | number)[] = [];
  for (let n: Walked | undefined = node; n?.parent; n = n.parent) keys.push(n.key);
  return keys.reverse().reduce<string>((path, key) => childPath(path, key), '$');
}

/**
 * The first thing in a JSON value PostgreSQL would refuse; walked without recursion (the value
 * may nest deeply). Every event passes through here, so paths are only spelled out for a problem.
 */
export function storageProblem(value: unknown, maxDepth: number = MAX_STORED_DEPTH): StorageProblem | undefined {
  return storableFast(value, 0, maxDepth) ? undefined : findProblem(value, maxDepth);
}

/**
 * Whether PostgreSQL stores the value, allocating nothing: every event passes here and nearly all
 * are fine (the walk below, with its path bookkeeping, took a tenth of the worker's CPU in the
 * end-to-end bench). Recursion is bounded by maxDepth.
 */
function storableFast(v: unknown, depth: number, maxDepth: number): boolean {
  if (typeof v === 'string') return !UNSTORABLE_CHAR.test(v);
  if (typeof v !== 'object' || v === null) return true;
  if (depth >= maxDepth) return false;
  if (Array.isArray(v)) {
    for (const item of v) if (!storableFast(item, depth + 1, maxDepth)) return false;
    return true;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if (UNSTORABLE_CHAR.test(k) || !storableFast((v as Record<string, unknown>)[k], depth + 1, maxDepth)) return false;
  }
  return true;
}

/** The first problem, with its path; walked without recursion (the value may nest deeply). */
function findProblem(value: unknown, maxDepth: number): StorageProblem | undefined {
  const stack: Walked[] = [{ v: value, parent: undefined, key: '', depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop() as Walked;
    const { v, depth } = node;
    if (typeof v === 'string') {
      const reason = stringProblem(v);
      if (reason) return { path: pathOf(node), reason: `the string ${reason}` };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) return { path: pathOf(node), reason: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, parent: node, key: i, depth: depth + 1 }));
      continue;
    }
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      const child: Walked = { v: item, parent: node, key: k, depth: depth + 1 };
      const reason = stringProblem(k);
      if (reason) return { path: pathOf(child), reason: `the key ${reason}` };
      stack.push(child);
    }
  }
  return undefined;
}

function storableString(s: string): string {
  return UNSTORABLE_CHAR.test(s) ? s.replace(UNSTORABLE_CHARS, '\ufffd') : s;
}

function truncatedJson(v: unknown): string {
  try {
    return storableString(JSON.stringify(v).slice(0, DEEP_KEEP_CHARS));
  } catch {
    // JSON.stringify overflows the stack on nesting JSON.parse accepted.
    return '(nested too deeply to keep)';
  }
}

/**
 * A copy PostgreSQL stores, for what must be kept whatever it holds (bad rows): NUL and lone
 * surrogates become U+FFFD, a subtree past `maxDepth` becomes the start of its JSON text.
 * Values with nothing to change come back as they are.
 */
export function storable(value: unknown, maxDepth: number = MAX_STORED_DEPTH): unknown {
  if (storageProblem(value, maxDepth) === undefined) return value;
  const copy = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') return storableString(v);
    if (typeof v !== 'object' || v === null) return v;
    if (depth >= maxDepth) return truncatedJson(v);
    if (Array.isArray(v)) return v.map((item) => copy(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) out[storableString(k)] = copy(item, depth + 1);
    return out;
  };
  return copy(value, 0);
}

/** The first part of an event PostgreSQL would refuse: an id, its type, headers or payload. */
export function eventStorageProblem(e: PipelineEvent): StorageProblem | undefined {
  for (const [field, v] of [['eventId', e.eventId], ['correlationId', e.correlationId], ['eventType', e.eventType]] as const) {
    const reason = stringProblem(v);
    if (reason) return { path: field, reason: `the ${field} ${reason}` };
  }
  const headers = storageProblem(e.headers);
  if (headers) return { path: headers.path.replace(/^\$/, 'headers'), reason: headers.reason };
  return storageProblem(e.payload);
}

/**
 * Splits events into those PostgreSQL stores and bad rows for the others, so that one event's
 * content never fails the statement that writes its whole batch. Keyed by where the event came
 * from and its id (made storable), so a retried batch keys its bad rows alike.
 */
export function separateUnstorable(events: readonly PipelineEvent[]): { events: PipelineEvent[]; badRows: KeyedBadRow[] } {
  const kept: PipelineEvent[] = [];
  const badRows: KeyedBadRow[] = [];
  for (const e of events) {
    const problem = eventStorageProblem(e);
    if (!problem) {
      kept.push(e);
      continue;
    }
    const h = e.headers;
    const key = storableString(`${String(h['kafka-topic'])}:${String(h['kafka-partition'])}:${String(h['kafka-offset'])}:event:${e.eventId.slice(0, 255)}`);
    const vendor = e.raw === undefined ? 'beltline.json' : 'com.snowplowanalytics.snowplow';
    badRows.push({
      key,
      row: badRow('adapter_failures', { vendor, version: '1', messages: [{ field: problem.path, error: problem.reason }] }, e.raw ?? { eventType: e.eventType, payload: e.payload }),
    });
  }
  return { events: kept, badRows };
}
