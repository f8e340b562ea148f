import fs from 'node:fs';
import path from 'node:path';
import { isObject } from '../shared/json';

/**
 * An example folder (see examples/README.md): definitions to create through the admin API, and
 * sample events to send. Reading and checking it is kept apart from sending.
 */
export interface ExampleFolder {
  dir: string;
  /** Self-describing JSON Schemas (Iglu) the example's tracker events need. */
  schemas: Definition[];
  eventTypes: Definition[];
  harvesters: Definition[];
  actions: Definition[];
  belts: Definition[];
  steps: Step[];
}

/** One body for `POST /projects/default/<kind>`, with the file it came from. */
export interface Definition {
  file: string;
  body: Record<string, unknown>;
}

/** A tracker event: a @snowplow/node-tracker `build<Track>` call, e.g. removeFromCart. */
export interface TrackerEvent {
  track: string;
  args: Record<string, unknown>;
}

export type Step =
  /** Plain JSON, `POST /api/v1/events/<eventType>`. */
  | { via: 'json'; eventType: string; body: unknown }
  /** Tracker events of one user, sent in one tp2 request (so they land in one batch). */
  | { via: 'tracker'; appId: string; userId?: string; events: TrackerEvent[] }
  /** Waits until the profile has a value at the path (the previous events were applied). */
  | { waitFor: { profile: string; path: string[] }; timeoutMs: number }
  /** Waits until the live segment has a row with these column values written during this run. */
  | { waitFor: { segment: string; filter: Record<string, string> }; timeoutMs: number }
  | { sleepMs: number };

export class ExampleError extends Error {
  override name = 'ExampleError';
}


function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ExampleError(`${file}: ${(err as Error).message}`);
  }
}

/** `${run}` in any string becomes the run id, so every run has users of its own. */
export function substitute<T>(value: T, vars: Record<string, string>): T {
  const sub = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(/\$\{(run)\}/g, (_, k: string) => vars[k] ?? '');
    if (Array.isArray(v)) return v.map(sub);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x)]));
    return v;
  };
  return sub(value) as T;
}

const CODE_EXTENSIONS = ['.py', '.js', '.ts'];

function definitions(dir: string, kind: string): Definition[] {
  const sub = path.join(dir, kind);
  if (!fs.existsSync(sub)) return [];
  return fs
    .readdirSync(sub)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(sub, f);
      const body = readJson(file);
      if (!isObject(body)) throw new ExampleError(`${file}: must hold one JSON object (the API's body)`);
      if (kind !== 'belts' || body.extractorFn !== undefined) return { file, body };
      // A belt's code sits beside its JSON: same name, .py / .js / .ts.
      const base = file.slice(0, -'.json'.length);
      const code = CODE_EXTENSIONS.map((ext) => base + ext).find((p) => fs.existsSync(p));
      if (!code) throw new ExampleError(`${file}: no extractorFn, and no ${CODE_EXTENSIONS.map((e) => path.basename(base) + e).join(' / ')} beside it`);
      return { file, body: { ...body, extractorFn: fs.readFileSync(code, 'utf8') } };
    });
}

function parseStep(raw: unknown, where: string): Step {
  if (!isObject(raw)) throw new ExampleError(`${where}: must be an object`);
  if (raw.via === 'json') {
    if (typeof raw.eventType !== 'string' || raw.eventType === '') throw new ExampleError(`${where}.eventType: is required for via "json"`);
    if (raw.body === undefined) throw new ExampleError(`${where}.body: is required for via "json"`);
    return { via: 'json', eventType: raw.eventType, body: raw.body };
  }
  if (raw.via === 'tracker') {
    const list = raw.events ?? (raw.track !== undefined ? [{ track: raw.track, args: raw.args }] : undefined);
    if (!Array.isArray(list) || list.length === 0) throw new ExampleError(`${where}.events: a non-empty list of {track, args} is required for via "tracker"`);
    const events = list.map((e, i): TrackerEvent => {
      if (!isObject(e) || typeof e.track !== 'string') throw new ExampleError(`${where}.events[${i}].track: must name a tracker event, e.g. "pageView", "removeFromCart"`);
      if (e.args !== undefined && !isObject(e.args)) throw new ExampleError(`${where}.events[${i}].args: must be an object`);
      return { track: e.track, args: (e.args as Record<string, unknown> | undefined) ?? {} };
    });
    if (raw.userId !== undefined && typeof raw.userId !== 'string') throw new ExampleError(`${where}.userId: must be a string`);
    if (raw.appId !== undefined && typeof raw.appId !== 'string') throw new ExampleError(`${where}.appId: must be a string`);
    return { via: 'tracker', appId: (raw.appId as string | undefined) ?? 'beltline-example', userId: raw.userId as string | undefined, events };
  }
  if (raw.waitFor !== undefined && isObject(raw.waitFor) && raw.waitFor.segment !== undefined) {
    const w = raw.waitFor;
    const filter = w.filter ?? {};
    if (typeof w.segment !== 'string' || !isObject(filter) || !Object.values(filter).every((v) => typeof v === 'string')) {
      throw new ExampleError(`${where}.waitFor: must be {segment: name, filter: {column: "value", …}}`);
    }
    const timeoutMs = raw.timeoutMs ?? 60_000;
    if (typeof timeoutMs !== 'number' || timeoutMs <= 0) throw new ExampleError(`${where}.timeoutMs: must be a positive number`);
    return { waitFor: { segment: w.segment, filter: filter as Record<string, string> }, timeoutMs };
  }
  if (raw.waitFor !== undefined) {
    const w = raw.waitFor;
    if (!isObject(w) || typeof w.profile !== 'string' || !Array.isArray(w.path) || w.path.length === 0 || !w.path.every((p) => typeof p === 'string')) {
      throw new ExampleError(`${where}.waitFor: must be {profile: id, path: [keys…]}`);
    }
    const timeoutMs = raw.timeoutMs ?? 60_000;
    if (typeof timeoutMs !== 'number' || timeoutMs <= 0) throw new ExampleError(`${where}.timeoutMs: must be a positive number`);
    return { waitFor: { profile: w.profile, path: w.path as string[] }, timeoutMs };
  }
  if (raw.sleepMs !== undefined) {
    if (typeof raw.sleepMs !== 'number' || raw.sleepMs < 0) throw new ExampleError(`${where}.sleepMs: must be a number of ms`);
    return { sleepMs: raw.sleepMs };
  }
  throw new ExampleError(`${where}: must have via "json" or "tracker", or be a {waitFor} or {sleepMs} step`);
}

/** Reads an example folder; `${run}` is replaced in events.json. Throws ExampleError naming the file. */
export function readExample(dir: string, vars: { run: string }): ExampleFolder {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ExampleError(`${dir}: not a folder`);
  const eventsFile = path.join(dir, 'events.json');
  const rawSteps = fs.existsSync(eventsFile) ? substitute(readJson(eventsFile), vars) : [];
  if (!Array.isArray(rawSteps)) throw new ExampleError(`${eventsFile}: must hold a JSON list of events`);
  return {
    dir,
    schemas: definitions(dir, 'schemas'),
    eventTypes: definitions(dir, 'event-types'),
    harvesters: definitions(dir, 'harvesters'),
    actions: definitions(dir, 'actions'),
    belts: definitions(dir, 'belts'),
    steps: rawSteps.map((s, i) => parseStep(s, `events.json[${i}]`)),
  };
}
