import http from 'node:http';
import * as snowplow from '@snowplow/node-tracker';
import { technicalName } from '../eventtypes/definition';
import { DEFAULT_PROJECT } from '../projects/names';
import { ExampleError, type Definition, type ExampleFolder, type Step, type TrackerEvent } from './folder';

export interface RunOptions {
  /** beltline's base URL: admin API and collector. */
  url: string;
  adminKey: string;
  /** The project the example's definitions, events and checks go to; `default` when absent. */
  project?: string;
  /** Action name → URL, replacing the definition's url. */
  actionUrls: Record<string, string>;
  print: (line: string) => void;
}

const KINDS = [
  ['event-types', 'eventTypes', 'event type'],
  ['harvesters', 'harvesters', 'harvester'],
  ['actions', 'actions', 'action'],
  ['belts', 'belts', 'belt'],
] as const;

const projectOf = (opts: RunOptions): string => opts.project ?? DEFAULT_PROJECT;
const projectBase = (opts: RunOptions): string => `/projects/${encodeURIComponent(projectOf(opts))}`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function call(opts: RunOptions, method: string, route: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
  let res: Response;
  try {
    res = await fetch(`${opts.url}${route}`, {
      method,
      headers: { authorization: `Bearer ${opts.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ExampleError(`${method} ${opts.url}${route}: ${(err as Error).message} (is beltline running? bin/beltline start)`);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

function nameOf(kind: string, body: Record<string, unknown>): string {
  if (typeof body.name === 'string' && body.name !== '') return body.name;
  if (kind !== 'actions' && kind !== 'belts' && typeof body.displayName === 'string') return technicalName(body.displayName);
  throw new ExampleError(`a ${kind} definition needs a name`);
}

/** Creates each definition, or replaces it (PUT) when it exists already. */
async function upsert(opts: RunOptions, kind: string, noun: string, def: Definition): Promise<void> {
  const body = kind === 'actions' ? withActionUrl(def.body, opts.actionUrls) : def.body;
  const name = nameOf(kind, body);
  const base = `${projectBase(opts)}/${kind}`;
  let res = await call(opts, 'POST', base, body);
  let verb = 'created';
  if (res.status === 409) {
    res = await call(opts, 'PUT', `${base}/${encodeURIComponent(name)}`, body);
    verb = 'updated';
  }
  if (res.status === 401 || res.status === 403) throw new ExampleError(`${def.file}: the admin key was refused (set BELTLINE_ADMIN_KEY or --admin-key to the key beltline printed)`);
  if (res.status >= 300) throw new ExampleError(`${def.file}: ${res.status} ${res.text}`);
  const extra = kind === 'actions' ? ` → ${String(body.url)}` : '';
  opts.print(`${verb} ${noun} ${name}${extra}`);
}

function withActionUrl(body: Record<string, unknown>, urls: Record<string, string>): Record<string, unknown> {
  const url = typeof body.name === 'string' ? urls[body.name] : undefined;
  return url ? { ...body, url } : body;
}

/** The node-tracker builder for `removeFromCart` is buildRemoveFromCart, and so on. */
function builder(track: string): (args: Record<string, unknown>) => snowplow.PayloadBuilder {
  const fn = (snowplow as unknown as Record<string, unknown>)[`build${track.charAt(0).toUpperCase()}${track.slice(1)}`];
  if (typeof fn !== 'function') {
    const known = Object.keys(snowplow)
      .filter((k) => k.startsWith('build'))
      .map((k) => k.charAt(5).toLowerCase() + k.slice(6));
    throw new ExampleError(`unknown tracker event ${JSON.stringify(track)}; known: ${known.join(', ')}`);
  }
  return fn as (args: Record<string, unknown>) => snowplow.PayloadBuilder;
}

/** Sends tracker events in one tp2 request and waits until the collector answered. */
async function sendTracked(opts: RunOptions, step: { appId: string; userId?: string; events: TrackerEvent[] }): Promise<string[]> {
  const builders = step.events.map((e) => builder(e.track)(e.args));
  const url = new URL(opts.url);
  let acked = 0;
  let failed = 0;
  const ids: string[] = [];
  const tracker = snowplow.newTracker(
    { namespace: 'beltline-example', appId: step.appId, encodeBase64: true },
    {
      endpoint: url.hostname,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      port: Number(url.port) || undefined,
      eventMethod: 'post',
      // A project other than default is reached through the collector's project prefix.
      ...(projectOf(opts) !== DEFAULT_PROJECT ? { postPath: `/p/${projectOf(opts)}/com.snowplowanalytics.snowplow/tp2` } : {}),
      bufferSize: builders.length,
      retryFailedRequests: false,
      onRequestSuccess: (batch) => (acked += batch.length),
      onRequestFailure: (failure) => (failed += failure.events.length),
    },
  );
  if (step.userId) tracker.setUserId(step.userId);
  for (const b of builders) {
    const payload = tracker.track(b);
    if (payload?.eid !== undefined) ids.push(String(payload.eid));
  }
  const deadline = Date.now() + 30_000;
  while (acked + failed < ids.length) {
    if (Date.now() > deadline) throw new ExampleError(`the collector at ${opts.url} did not answer within 30 s`);
    await tracker.flush();
    await sleep(20);
  }
  if (failed > 0) throw new ExampleError(`the collector at ${opts.url} refused ${failed} of ${ids.length} tracker events`);
  return ids;
}

function valueAt(doc: unknown, p: string[]): unknown {
  let v = doc;
  for (const k of p) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

async function runStep(opts: RunOptions, step: Step, segmentHighWater: number): Promise<void> {
  if ('via' in step && step.via === 'json') {
    const res = await call(opts, 'POST', `/api/v1/events/${encodeURIComponent(step.eventType)}?project=${encodeURIComponent(projectOf(opts))}`, step.body);
    if (res.status >= 300) throw new ExampleError(`POST /api/v1/events/${step.eventType}: ${res.status} ${res.text}`);
    opts.print(`sent json    ${step.eventType} ${JSON.stringify(step.body)} → ${res.status}`);
    return;
  }
  if ('via' in step) {
    await sendTracked(opts, step);
    opts.print(`sent tracker app=${step.appId} user=${step.userId ?? '-'}: ${step.events.map((e) => `${e.track} ${JSON.stringify(e.args)}`).join(', ')} (one request)`);
    return;
  }
  if ('sleepMs' in step) {
    await sleep(step.sleepMs);
    return;
  }
  if ('segment' in step.waitFor) return waitForSegmentRow(opts, step.waitFor, step.timeoutMs, segmentHighWater);
  const { profile, path } = step.waitFor;
  const deadline = Date.now() + step.timeoutMs;
  for (;;) {
    const res = await call(opts, 'GET', `${projectBase(opts)}/profiles/${encodeURIComponent(profile)}`);
    if (res.status === 401 || res.status === 403) throw new ExampleError(`GET ${projectBase(opts)}/profiles: the admin key was refused (set BELTLINE_ADMIN_KEY or --admin-key to the key beltline printed)`);
    const v = res.status === 200 ? valueAt((res.json as { document?: unknown }).document, path) : undefined;
    if (v !== undefined) {
      opts.print(`profile ${profile} has ${path.join('.')} = ${JSON.stringify(v)}`);
      return;
    }
    if (Date.now() > deadline) throw new ExampleError(`profile ${profile} still has no ${path.join('.')} after ${step.timeoutMs} ms (is a worker running? bin/beltline actions runs, belts errors)`);
    await sleep(250);
  }
}

/** Adds a self-describing schema to the registry; the same schema again is no change. */
async function addSchema(opts: RunOptions, def: Definition): Promise<void> {
  const res = await call(opts, 'POST', `${projectBase(opts)}/schemas`, def.body);
  if (res.status === 401 || res.status === 403) throw new ExampleError(`${def.file}: the admin key was refused (set BELTLINE_ADMIN_KEY or --admin-key to the key beltline printed)`);
  if (res.status >= 300) throw new ExampleError(`${def.file}: ${res.status} ${res.text}`);
  opts.print(`${res.status === 201 ? 'added' : 'kept'} schema ${String((res.json as { key?: string }).key)}`);
}

type SegmentWait = { segment: string; filter: Record<string, string> };

/** Visits the segment's rows matching the filter, page by page, until `visit` returns true. */
async function scanSegmentRows(opts: RunOptions, w: SegmentWait, visit: (row: Record<string, unknown>) => boolean): Promise<boolean> {
  const query = Object.entries(w.filter).map(([k, v]) => `filter=${encodeURIComponent(`${k}=${v}`)}`);
  let after: string | null = null;
  do {
    const res = await call(opts, 'GET', `${projectBase(opts)}/segments/${encodeURIComponent(w.segment)}/rows?${[...query, 'limit=1000', ...(after ? [`after=${encodeURIComponent(after)}`] : [])].join('&')}`);
    if (res.status !== 200 && res.status !== 404) throw new ExampleError(`GET ${projectBase(opts)}/segments/${w.segment}/rows: ${res.status} ${res.text}`);
    const page = res.status === 200 ? (res.json as { rows: Record<string, unknown>[]; next: string | null }) : { rows: [], next: null };
    if (page.rows.some(visit)) return true;
    after = page.next;
  } while (after);
  return false;
}

/**
 * The newest `updated_at` among the rows already there: a row counts as this run's only when it is
 * newer. Both sides are PostgreSQL's clock, so a run that starts right after another (whose row
 * is a few ms old) does not take that row for its own.
 */
async function segmentHighWater(opts: RunOptions, w: SegmentWait): Promise<number> {
  let newest = Number.NEGATIVE_INFINITY;
  await scanSegmentRows(opts, w, (r) => {
    newest = Math.max(newest, Date.parse(String(r.updated_at)));
    return false;
  });
  return newest;
}

/** Polls the segment's rows for one matching the filter that was written after `newerThan`. */
async function waitForSegmentRow(opts: RunOptions, w: SegmentWait, timeoutMs: number, newerThan: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let found: Record<string, unknown> | undefined;
    await scanSegmentRows(opts, w, (r) => {
      if (Date.parse(String(r.updated_at)) > newerThan) found = r;
      return found !== undefined;
    });
    if (found) {
      opts.print(`live segment ${w.segment} has row ${JSON.stringify(found)}`);
      return;
    }
    if (Date.now() > deadline) throw new ExampleError(`live segment ${w.segment} has no new row with ${JSON.stringify(w.filter)} after ${timeoutMs} ms (bin/beltline belts errors, bin/beltline segments dead-letters ${w.segment})`);
    await sleep(250);
  }
}

/** Creates or updates the folder's definitions, then sends its events in order. */
export async function runExample(folder: ExampleFolder, opts: RunOptions): Promise<{ profiles: string[] }> {
  for (const def of folder.schemas) await addSchema(opts, def);
  for (const [kind, key, noun] of KINDS) for (const def of folder[key]) await upsert(opts, kind, noun, def);
  // Taken before any event is sent: whatever row is newer was written by this run.
  const highWater = new Map<Step, number>();
  for (const step of folder.steps) if ('waitFor' in step && 'segment' in step.waitFor) highWater.set(step, await segmentHighWater(opts, step.waitFor));
  const profiles = new Set<string>();
  for (const step of folder.steps) {
    await runStep(opts, step, highWater.get(step) ?? Number.NEGATIVE_INFINITY);
    if ('via' in step && step.via === 'tracker' && step.userId) profiles.add(step.userId);
    if ('waitFor' in step && 'profile' in step.waitFor) profiles.add(step.waitFor.profile);
  }
  return { profiles: [...profiles] };
}

/** A webhook received by the example's own receiver. */
export interface Received {
  path: string;
  idempotencyKey: string | undefined;
  body: unknown;
}

/** A tiny HTTP receiver for an example's actions: answers 200 and reports each request. */
export async function startReceiver(port: number, onRequest: (r: Received) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      let body: unknown = data;
      try {
        body = JSON.parse(data);
      } catch {
        // kept as text
      }
      const key = req.headers['idempotency-key'];
      onRequest({ path: req.url ?? '/', idempotencyKey: Array.isArray(key) ? key[0] : key, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
