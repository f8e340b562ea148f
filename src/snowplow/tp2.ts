import { isObject as isPlainObject } from '../shared/json';

/** Tracker-protocol parameters of one event (`e`, `eid`, `uid`, `ue_px`, …). */
export type TrackerParams = Record<string, string>;

/** The body or query is not tracker protocol; the message says what is wrong. */
export class Tp2FormatError extends Error {
  override name = 'Tp2FormatError';
}

// Trackers of every version still in use send one of these; 1-0-4 is the current one.
const PAYLOAD_DATA = /^iglu:com\.snowplowanalytics\.snowplow\/payload_data\/jsonschema\/1-0-[0-4]$/;


function toParams(item: unknown, where: string): TrackerParams {
  if (!isPlainObject(item)) throw new Tp2FormatError(`${where} is not an object`);
  const params: TrackerParams = {};
  // for-in, not Object.entries: every event of every request comes through here, and the pairs'
  // arrays were most of its cost.
  for (const k in item) {
    if (!Object.hasOwn(item, k)) continue;
    const v = item[k];
    // Trackers send every value as a string; numbers and booleans are tolerated as their text,
    // null as an absent parameter (some trackers serialise unset fields that way).
    if (typeof v === 'string') params[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') params[k] = String(v);
    else if (v !== null && v !== undefined) throw new Tp2FormatError(`${where}.${k} must be a string`);
  }
  // An event without a type is refused at the door: the tracker learns it at once (400) and
  // nothing half-valid reaches Kafka. Events that have a type but are otherwise wrong become
  // bad rows later, in enrichment.
  if (!Object.hasOwn(params, 'e') || params.e === '') throw new Tp2FormatError(`${where} has no event type parameter "e"`);
  return params;
}

/** Validates a `POST /com.snowplowanalytics.snowplow/tp2` body: a payload_data batch. */
export function parseTp2Body(body: unknown): TrackerParams[] {
  if (!isPlainObject(body)) throw new Tp2FormatError('body must be a JSON object');
  const { schema, data } = body;
  if (typeof schema !== 'string' || !PAYLOAD_DATA.test(schema)) {
    throw new Tp2FormatError('schema must be iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-*');
  }
  if (!Array.isArray(data) || data.length === 0) throw new Tp2FormatError('data must be a non-empty array of events');
  return data.map((item, i) => toParams(item, `data[${i}]`));
}

/** Validates the query string of `GET /i`: one event. Repeated parameters keep their first value. */
export function parseGetQuery(query: Record<string, string | string[] | undefined>): TrackerParams {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) params[k] = first;
  }
  return toParams(params, 'query');
}
