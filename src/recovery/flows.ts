import { isDeepStrictEqual } from 'node:util';
import type { BadRow } from '../badrows/format';
import { flowsFor, type CastType, type Flow, type Matcher, type RecoveryConfig, type Step } from './config';
import { compilePath, javaRegex, matchText, queryPath } from './paths';
import { isObject } from '../shared/json';

/**
 * Applying a recovery configuration to one bad row. Pure.
 *
 * Paths see the payload with its encoded JSON opened up, as Snowplow's recovery does: in
 * `raw.parameters`, `ue_px` and `cx` (base64) and `ue_pr` and `co` (string-escaped JSON) are
 * objects, so `$.raw.parameters.ue_px.data.data.quantity` reaches a field of the event; a payload
 * that is itself JSON text (collector_payload_format_violation) is opened the same way. What a
 * flow changed is encoded back the way it came; what it did not touch keeps its original text.
 */

type Encoding = 'base64' | 'base64url' | 'json';

interface Opened {
  /** Keys from the payload to the opened field; [] for the payload itself. */
  at: string[];
  encoding: Encoding;
  original: unknown;
}

const BASE64_PARAMS = ['ue_px', 'cx'];
const JSON_PARAMS = ['ue_pr', 'co'];

/** Payloads are JSON: a JSON copy (structuredClone's objects may come from another realm, which deep equality tells apart). */
function cloneJson<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}


function parseJsonContainer(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

function decodeBase64(s: string): unknown {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return undefined;
  return parseJsonContainer(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

/** The payload as flows see it, and the fields that were opened. */
export function openPayload(payload: unknown): { view: unknown; opened: Opened[] } {
  const opened: Opened[] = [];
  let view = cloneJson(payload);
  if (typeof view === 'string') {
    const parsed = parseJsonContainer(view);
    if (parsed !== undefined) {
      opened.push({ at: [], encoding: 'json', original: cloneJson(parsed) });
      view = parsed;
    }
  }
  const params = isObject(view) && isObject(view.raw) && isObject(view.raw.parameters) ? view.raw.parameters : undefined;
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (typeof v !== 'string') continue;
      let decoded: unknown;
      let encoding: Encoding | undefined;
      if (BASE64_PARAMS.includes(k)) {
        decoded = decodeBase64(v);
        encoding = /[-_]/.test(v) || (!/[+/]/.test(v) && !v.endsWith('=')) ? 'base64url' : 'base64';
      } else if (JSON_PARAMS.includes(k)) {
        decoded = parseJsonContainer(v);
        encoding = 'json';
      }
      if (decoded === undefined || !encoding) continue;
      opened.push({ at: ['raw', 'parameters', k], encoding, original: cloneJson(decoded) });
      params[k] = decoded;
    }
  }
  return { view, opened };
}

function encode(v: unknown, encoding: Encoding): string {
  const text = JSON.stringify(v);
  if (encoding === 'json') return text;
  return Buffer.from(text, 'utf8').toString(encoding);
}

/** The payload again, with every opened field that a step changed encoded back (innermost first). */
export function closePayload(view: unknown, opened: Opened[], original: unknown): unknown {
  let out = view;
  // Inner fields' original text sits in the original payload, itself JSON text when it was opened.
  const base = typeof original === 'string' ? parseJsonContainer(original) : original;
  for (const o of [...opened].sort((a, b) => b.at.length - a.at.length)) {
    if (o.at.length === 0) {
      out = isDeepStrictEqual(out, o.original) ? original : encode(out, o.encoding);
      continue;
    }
    const holder = o.at.slice(0, -1).reduce<unknown>((cur, k) => (isObject(cur) ? cur[k] : undefined), out);
    const key = o.at[o.at.length - 1];
    if (!isObject(holder) || !(key in holder)) continue;
    const originalText = o.at.reduce<unknown>((cur, k) => (isObject(cur) ? cur[k] : undefined), base);
    holder[key] = isDeepStrictEqual(holder[key], o.original) ? originalText : encode(holder[key], o.encoding);
  }
  return out;
}

// ------------------------------------------------------------------------------ conditions

function sizeOf(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isObject(v)) return Object.keys(v).length;
  return matchText(v).length;
}

/** Whether one value satisfies a matcher: equal (deeply), contains a match, or has a size. */
export function matches(matcher: Matcher, v: unknown): boolean {
  if ('value' in matcher) return isDeepStrictEqual(v, matcher.value);
  if ('regex' in matcher) return javaRegex(matcher.regex).test(matchText(v));
  const n = sizeOf(v);
  const { eq, gt, lt } = matcher.size;
  return (eq === undefined || n === eq) && (gt === undefined || n > gt) && (lt === undefined || n < lt);
}

/** A condition holds when some value its path reaches matches; a path that reaches nothing (or a filter that throws) does not hold. */
export function conditionHolds(path: string, matcher: Matcher, root: unknown): boolean {
  let found;
  try {
    found = queryPath(compilePath(path), root);
  } catch {
    return false;
  }
  return found.some((m) => matches(matcher, m.value));
}

// ------------------------------------------------------------------------------ steps

export interface Change {
  /** Where, in the opened payload: `$.raw.parameters.ue_px.data.data.quantity`. */
  path: string;
  before: unknown;
  /** Undefined when the step removed the value. */
  after?: unknown;
}

export class StepFailure extends Error {
  override name = 'StepFailure';
}

function typeOf(v: unknown): CastType | 'Object' | 'Null' {
  if (typeof v === 'number') return 'Numeric';
  if (typeof v === 'boolean') return 'Boolean';
  if (typeof v === 'string') return 'String';
  if (Array.isArray(v)) return 'Array';
  return v === null ? 'Null' : 'Object';
}

const NUMBER = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/;

/**
 * Casts as Snowplow's recovery does: anything → Array wraps it; anything → String is its text
 * (a string stays itself, others their JSON); Numeric ↔ Boolean as 0/false, 1/true (any other
 * number is true); String → Numeric parses a decimal number; String → Boolean takes "true"/"false".
 */
export function castValue(v: unknown, from: CastType, to: CastType): unknown {
  const found = typeOf(v);
  if (found !== from) throw new StepFailure(`expected ${from}, found ${found}: ${matchText(v).slice(0, 100)}`);
  switch (to) {
    case 'Array':
      return [v];
    case 'String':
      return matchText(v);
    case 'Boolean':
      if (from === 'Numeric') return v !== 0;
      if (from === 'String' && (v === 'true' || v === 'false')) return v === 'true';
      break;
    case 'Numeric':
      if (from === 'Boolean') return v ? 1 : 0;
      if (from === 'String' && NUMBER.test(v as string)) return Number(v);
      break;
  }
  throw new StepFailure(`cannot cast ${from} ${matchText(v).slice(0, 100)} to ${to}`);
}

/** Replace: on a string, every match of `match` becomes `value`; on anything else, the same on its JSON, which must stay JSON. */
export function replaceValue(v: unknown, match: string, value: unknown): unknown {
  const re = javaRegex(match, true);
  if (typeof v === 'string') return v.replace(re, matchText(value));
  const text = matchText(v);
  const replaced = text.replace(re, typeof value === 'string' ? value : matchText(value));
  if (replaced === text) return v;
  try {
    return JSON.parse(replaced) as unknown;
  } catch {
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return replaced;
    throw new StepFailure(`replacing in ${text.slice(0, 100)} does not leave valid JSON`);
  }
}

/** Remove: on a string, the matches are cut out; from an array, the elements whose text matches; from an object, the properties whose name matches. Undefined: remove the value itself. */
export function removeFrom(v: unknown, match: string): unknown {
  const re = javaRegex(match, true);
  const test = (s: string): boolean => {
    re.lastIndex = 0;
    return re.test(s);
  };
  if (typeof v === 'string') return v.replace(re, '');
  if (Array.isArray(v)) return v.filter((x) => !test(matchText(x)));
  if (isObject(v)) return Object.fromEntries(Object.entries(v).filter(([k]) => !test(k)));
  return test(matchText(v)) ? undefined : v;
}

/** Applies one step to the opened payload (in the box's `root`), returning what it changed. Throws StepFailure. */
function applyStep(step: Step, box: { root: unknown }): Change[] {
  let found;
  try {
    found = queryPath(compilePath(step.path), box.root);
  } catch (err) {
    throw new StepFailure(`path ${step.path.trim()}: ${(err as Error).message}`);
  }
  if (found.length === 0) throw new StepFailure(`path ${step.path.trim()} matched nothing`);
  const changes: Change[] = [];
  for (const m of found) {
    const next = step.op === 'Cast' ? castValue(m.value, step.from, step.to) : step.op === 'Replace' ? replaceValue(m.value, step.match, step.value) : removeFrom(m.value, step.match);
    if (isDeepStrictEqual(next, m.value)) continue;
    changes.push(next === undefined ? { path: m.at, before: m.value } : { path: m.at, before: m.value, after: next });
    if (m.parent === null) box.root = next;
    else if (Array.isArray(m.parent)) {
      if (next === undefined) m.parent.splice(m.key as number, 1);
      else m.parent[m.key as number] = next;
    } else if (next === undefined) delete m.parent[m.key as string];
    else m.parent[m.key as string] = next;
  }
  return changes;
}

// ------------------------------------------------------------------------------ a bad row

export type RecoveryOutcome =
  | { status: 'recovered'; flow: string; payload: unknown; changes: Change[] }
  /** A flow matched but a step could not be applied, or the result is not an event again. */
  | { status: 'failed'; flow: string; reason: string; changes: Change[] }
  /** No flow for the row's type, or none whose conditions hold. */
  | { status: 'unmatched'; reason: string }
  /** The bad row's payload cannot become an event (e.g. a truncated size_violation). */
  | { status: 'unrecoverable'; reason: string };

/** Bad-row types whose payload cannot be turned back into a collector record. */
export const UNRECOVERABLE: Record<string, string> = {
  size_violation: 'a size_violation keeps only the start of the payload, which cannot be sent again',
};

/** The first flow (in configuration order) whose conditions all hold, applied step by step. */
export function recoverBadRow(config: RecoveryConfig, row: BadRow): RecoveryOutcome {
  const type = row.schema.split('/')[1] ?? '';
  if (UNRECOVERABLE[type]) return { status: 'unrecoverable', reason: UNRECOVERABLE[type] };
  const flows: Flow[] = flowsFor(config, type, row.schema);
  if (flows.length === 0) return { status: 'unmatched', reason: `missing configuration: no flow for ${type} bad rows` };
  const { view, opened } = openPayload(row.data.payload);
  const root = { ...row.data, payload: view };
  const flow = flows.find((f) => f.conditions.every((c) => conditionHolds(c.path, c.value, root)));
  if (!flow) return { status: 'unmatched', reason: `missing configuration: no flow for ${type} has conditions that hold (tried ${flows.map((f) => JSON.stringify(f.name)).join(', ')})` };
  const box = { root: view };
  const changes: Change[] = [];
  for (const [i, step] of flow.steps.entries()) {
    try {
      changes.push(...applyStep(step, box));
    } catch (err) {
      if (!(err instanceof StepFailure)) throw err;
      return { status: 'failed', flow: flow.name, reason: `flow "${flow.name}" step ${i + 1} (${step.op}): ${err.message}`, changes };
    }
  }
  return { status: 'recovered', flow: flow.name, payload: closePayload(box.root, opened, row.data.payload), changes };
}
