import crypto from 'node:crypto';
import { DefinitionError } from '../shared/errors';
import { durationOrNull } from '../shared/durations';
import { isObject } from '../shared/json';

/**
 * Actions (seed 004's output side), pure: what a belt's `Action(name, payload)` does outside.
 * The only kind is an HTTP webhook: the payload is POSTed as JSON to `url` with an
 * `Idempotency-Key` header, retried by Temporal, and never sent again once a 2xx is recorded.
 */
export interface ActionRetry {
  /** Attempts in all, the first included. */
  maximumAttempts: number;
  initialIntervalMs: number;
  maximumIntervalMs: number;
  backoffCoefficient: number;
}

export interface ActionDefinition {
  name: string;
  description: string;
  type: 'webhook';
  url: string;
  method: 'POST' | 'PUT' | 'PATCH';
  /** Header values may hold `${env:NAME}`, read from the worker's environment at delivery. */
  headers: Record<string, string>;
  timeoutMs: number;
  retry: ActionRetry;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRY: ActionRetry = { maximumAttempts: 10, initialIntervalMs: 1000, maximumIntervalMs: 60_000, backoffCoefficient: 2 };
const MAX_TIMEOUT_MS = 5 * 60_000;

export const ACTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;
/** Set by beltline itself; a definition cannot override them. */
const RESERVED_HEADERS = new Set(['idempotency-key', 'content-length', 'host', 'transfer-encoding', 'connection', 'x-beltline-action', 'x-beltline-event-id', 'x-beltline-belt']);
const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
/**
 * The prefix of every variable `${env:NAME}` may read. The worker's environment also holds
 * DATABASE_URL, the admin key and cloud credentials; without a prefix an action could send any of
 * them to its URL.
 */
export const ACTION_ENV_PREFIX = 'BELTLINE_ACTION_';


/** Milliseconds from a number of ms or an ISO-8601 duration (`PT10S`); null when neither. */
function millis(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string') return durationOrNull(v);
  return null;
}

function boundedMs(field: string, v: unknown, min: number, max: number): number {
  const ms = millis(v);
  if (ms === null || !Number.isInteger(ms) || ms < min || ms > max) {
    throw new DefinitionError(field, `must be a whole number of milliseconds or an ISO-8601 duration (e.g. "PT10S") from ${min} ms to ${max} ms; got ${JSON.stringify(v)}`);
  }
  return ms;
}

function parseRetry(raw: unknown): ActionRetry {
  if (raw === undefined) return { ...DEFAULT_RETRY };
  if (!isObject(raw)) throw new DefinitionError('retry', 'must be an object: {maximumAttempts?, initialInterval?, maximumInterval?, backoffCoefficient?}');
  const known = new Set(['maximumAttempts', 'initialInterval', 'initialIntervalMs', 'maximumInterval', 'maximumIntervalMs', 'backoffCoefficient']);
  for (const k of Object.keys(raw)) if (!known.has(k)) throw new DefinitionError(`retry.${k}`, `is not a retry setting (known: ${[...known].join(', ')})`);
  const attempts = raw.maximumAttempts ?? DEFAULT_RETRY.maximumAttempts;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 1 || attempts > 100) {
    throw new DefinitionError('retry.maximumAttempts', `must be a whole number from 1 to 100; got ${JSON.stringify(attempts)}`);
  }
  const initial = raw.initialInterval ?? raw.initialIntervalMs;
  const maximum = raw.maximumInterval ?? raw.maximumIntervalMs;
  const initialIntervalMs = initial === undefined ? DEFAULT_RETRY.initialIntervalMs : boundedMs(raw.initialInterval !== undefined ? 'retry.initialInterval' : 'retry.initialIntervalMs', initial, 100, 3_600_000);
  const maximumIntervalMs =
    maximum === undefined ? Math.max(initialIntervalMs, DEFAULT_RETRY.maximumIntervalMs) : boundedMs(raw.maximumInterval !== undefined ? 'retry.maximumInterval' : 'retry.maximumIntervalMs', maximum, 100, 24 * 3_600_000);
  if (maximumIntervalMs < initialIntervalMs) throw new DefinitionError('retry.maximumInterval', 'must not be shorter than retry.initialInterval');
  const backoff = raw.backoffCoefficient ?? DEFAULT_RETRY.backoffCoefficient;
  if (typeof backoff !== 'number' || !(backoff >= 1 && backoff <= 10)) throw new DefinitionError('retry.backoffCoefficient', `must be a number from 1 to 10; got ${JSON.stringify(backoff)}`);
  return { maximumAttempts: attempts, initialIntervalMs, maximumIntervalMs, backoffCoefficient: backoff };
}

function parseHeaders(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new DefinitionError('headers', 'must be an object of header names to string values');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const field = `headers.${k}`;
    if (!HEADER_NAME.test(k)) throw new DefinitionError(field, 'is not a valid HTTP header name');
    if (RESERVED_HEADERS.has(k.toLowerCase())) throw new DefinitionError(field, 'is set by beltline and cannot be configured');
    if (typeof v !== 'string') throw new DefinitionError(field, `must be a string; got ${JSON.stringify(v)}`);
    if (/[\r\n\0]/.test(v)) throw new DefinitionError(field, 'must not contain line breaks');
    const rest = v.replace(ENV_REF, '');
    if (rest.includes('${')) throw new DefinitionError(field, 'may reference environment variables only as ${env:NAME}');
    for (const [, name] of v.matchAll(ENV_REF)) {
      if (!name.startsWith(ACTION_ENV_PREFIX)) throw new DefinitionError(field, `may reference only environment variables whose name starts with ${ACTION_ENV_PREFIX}; got ${name}`);
    }
    out[k] = v;
  }
  return out;
}

/** Validates the API body; throws DefinitionError naming the field. */
export function parseActionBody(body: unknown, fixedName?: string): ActionDefinition {
  if (!isObject(body)) throw new DefinitionError('body', 'must be a JSON object');
  const name = fixedName ?? body.name;
  if (typeof name !== 'string' || !ACTION_NAME.test(name)) {
    throw new DefinitionError('name', `must be 1-63 lower-case letters, digits, _ or - (what belts pass to Action(name, …)); got ${JSON.stringify(name)}`);
  }
  if (fixedName !== undefined && body.name !== undefined && body.name !== fixedName) throw new DefinitionError('name', `does not match the URL (${fixedName}); an action cannot be renamed`);
  const description = body.description ?? '';
  if (typeof description !== 'string') throw new DefinitionError('description', 'must be a string');
  const type = body.type ?? 'webhook';
  if (type !== 'webhook') throw new DefinitionError('type', `must be "webhook" (the only kind of action); got ${JSON.stringify(type)}`);
  const url = body.url;
  if (typeof url !== 'string' || url === '') throw new DefinitionError('url', 'is required: the http(s) URL the webhook is sent to');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DefinitionError('url', `is not an absolute URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new DefinitionError('url', `must be http or https, not ${parsed.protocol.replace(/:$/, '')}`);
  if (parsed.username || parsed.password) throw new DefinitionError('url', 'must not carry credentials; put them in a header, e.g. "Authorization": "Bearer ${env:TOKEN}"');
  const method = body.method ?? 'POST';
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') throw new DefinitionError('method', `must be POST, PUT or PATCH; got ${JSON.stringify(method)}`);
  if (body.timeoutMs !== undefined && body.timeout !== undefined) throw new DefinitionError('timeout', 'give timeoutMs or timeout, not both');
  const timeoutField = body.timeout !== undefined ? 'timeout' : 'timeoutMs';
  const timeoutRaw = body.timeout ?? body.timeoutMs;
  const timeoutMs = timeoutRaw === undefined ? DEFAULT_TIMEOUT_MS : boundedMs(timeoutField, timeoutRaw, 1, MAX_TIMEOUT_MS);
  return { name, description, type: 'webhook', url, method, headers: parseHeaders(body.headers), timeoutMs, retry: parseRetry(body.retry) };
}

/** Header values with `${env:NAME}` replaced from `env`; throws naming a variable that is unset. */
export function resolveHeaders(headers: Record<string, string>, env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    out[k] = v.replace(ENV_REF, (_, name: string) => {
      // Definitions stored before the prefix was required are checked again here.
      if (!name.startsWith(ACTION_ENV_PREFIX)) throw new Error(`header ${k} references the environment variable ${name}; actions may read only variables starting with ${ACTION_ENV_PREFIX}`);
      const value = env[name];
      if (value === undefined) throw new Error(`header ${k} references the environment variable ${name}, which is not set on the worker`);
      return value;
    });
  }
  return out;
}

/** What decides whether an answer is worth another attempt. */
export type DeliveryOutcome = 'sent' | 'retry' | 'failed';

/** 2xx: sent; 408, 429 and 5xx (and anything odd): retry; any other 4xx: failed for good. */
export function outcomeOf(status: number): DeliveryOutcome {
  if (status >= 200 && status < 300) return 'sent';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'failed';
  return 'retry';
}

/**
 * The idempotency key of one action a belt returned: stable for (event, belt, action, position
 * among the event's actions), or, when the belt gave a `key`, for (action, key) whatever event
 * asked, so a second decision with the same key is dropped.
 */
export function idempotencyKey(a: { eventId: string; belt: string; name: string; index: number; key?: string | null }): string {
  const basis = a.key != null ? `key/${a.name}/${a.key}` : `${a.eventId}/${a.belt}/${a.name}/${a.index}`;
  return crypto.createHash('sha256').update(basis).digest('hex');
}
