import { UAParser } from 'ua-parser-js';
import { parseSchemaUri, parseSchemaVer } from '../schemas/iglu';
import { isObject } from '../shared/json';
import { BoundedMemo } from '../shared/memo';
import type { TrackerParams } from './tp2';

/** What the collector knew of the request an event came in. */
export interface CollectorMeta {
  /** Epoch ms the collector received the request. */
  collectorTstamp: number;
  ipAddress?: string;
  userAgent?: string;
  networkUserId?: string;
  hostname?: string;
  /** Collector name and version, e.g. `beltline-0.1.0`. */
  collector: string;
}

export interface EnrichOptions {
  /** Epoch ms of enrichment (`etl_tstamp`); the clock when unset. Tests pin it to compare whole events. */
  etlTstamp?: number;
}

/** `v_etl` of every event this enrichment produces. */
export const ETL_VERSION = 'beltline-0.1.0';

export type SdkEventType = 'page_view' | 'page_ping' | 'struct' | 'unstruct' | 'transaction' | 'transaction_item';

/**
 * An event in the Snowplow Analytics SDK JSON shape (what the SDKs' `transform` returns): atomic
 * fields by their column names, fields without a value left out, the self-describing event as
 * `unstruct_event_<vendor>_<name>_<model>` and contexts as `contexts_<vendor>_<name>_<model>` arrays.
 */
export type SdkEvent = {
  event_id: string;
  event: SdkEventType;
  event_vendor: string;
  event_name: string;
  event_format: string;
  event_version: string;
  collector_tstamp: string;
  derived_tstamp: string;
  etl_tstamp: string;
  v_collector: string;
  v_etl: string;
  [field: string]: unknown;
};

/**
 * An event that cannot be turned into an SdkEvent. `field` names the tracker parameter at fault
 * (`ue_px`, `dtm`, …) and `message` says what is wrong with it, for the bad row.
 */
export class EnrichmentError extends Error {
  override name = 'EnrichmentError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface IgluUri {
  vendor: string;
  name: string;
  format: string;
  version: string;
  model: number;
}

/** The key of an Iglu URI (the registry's grammar: src/schemas/iglu.ts) with its model, or undefined. */
function parseIglu(uri: string): IgluUri | undefined {
  const key = parseSchemaUri(uri);
  const ver = key && parseSchemaVer(key.version);
  return key && ver ? { ...key, model: ver.model } : undefined;
}

/** Parses an Iglu schema URI such as `iglu:com.acme/add_to_cart/jsonschema/1-0-2`. */
export function iglu(uri: string): IgluUri {
  const parsed = parseIglu(uri);
  if (!parsed) throw new EnrichmentError('schema', `${JSON.stringify(uri)} is not an Iglu schema URI (iglu:vendor/name/format/M-R-A)`);
  return parsed;
}

/**
 * The Analytics SDKs' field name for a self-describing event or context: vendor dots and dashes
 * to `_`, camelCase name to snake_case (dashes in the name stay, as in the SDKs), lower case.
 */
export function sdkFieldName(kind: 'unstruct_event' | 'contexts', vendor: string, name: string, model: number): string {
  const v = vendor.replace(/[.-]/g, '_').toLowerCase();
  const n = name.replace(/([^A-Z_])([A-Z])/g, '$1_$2').toLowerCase();
  return `${kind}_${v}_${n}_${model}`;
}

// ---------------------------------------------------------------------------------------------
// Parameter conversions, as Snowplow Enrich does them: a value that does not convert fails the
// event (a bad row) rather than silently losing the field.

type Convert = (value: string, param: string) => unknown;

// Enrich writes TSV: tabs become spaces, other control characters go, and an empty value is
// absent in what the SDK reads back.
const CONTROL_CHARS = new RegExp('[\\u0000-\\u0008\\u000a-\\u001f\\u007f]', 'g');
const text: Convert = (v) => v.replace(/\t/g, '    ').replace(CONTROL_CHARS, '') || undefined;

const int: Convert = (v, param) => {
  const n = Number(v);
  if (!/^[-+]?\d+$/.test(v) || n < -(2 ** 31) || n >= 2 ** 31) throw new EnrichmentError(param, `${JSON.stringify(v)} is not an integer`);
  return n;
};

const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const double: Convert = (v, param) => {
  const n = Number(v);
  if (!DECIMAL.test(v) || !Number.isFinite(n)) throw new EnrichmentError(param, `${JSON.stringify(v)} is not a number`);
  return n;
};

const bool: Convert = (v, param) => {
  if (v !== '0' && v !== '1') throw new EnrichmentError(param, `${JSON.stringify(v)} is not a boolean ("0" or "1")`);
  return v === '1';
};

const PLATFORMS = new Set(['web', 'mob', 'pc', 'srv', 'app', 'tv', 'cnsl', 'iot', 'headset']);
const platform: Convert = (v, param) => {
  if (!PLATFORMS.has(v)) throw new EnrichmentError(param, `${JSON.stringify(v)} is not a tracking platform (${[...PLATFORMS].join(', ')})`);
  return v;
};

// Proxies may hand on "client, proxy1, proxy2"; the first is the client.
const ip: Convert = (v, param) => text(v.split(/[,| ]/)[0], param);

// The range a warehouse timestamp (and Enrich) accepts: years 0000 to 9999.
const MIN_TSTAMP = Date.parse('0000-01-01T00:00:00.000Z');
const MAX_TSTAMP = Date.parse('9999-12-31T23:59:59.999Z');

function checkTstamp(ms: number, field: string): number {
  if (!Number.isFinite(ms) || ms < MIN_TSTAMP || ms > MAX_TSTAMP) throw new EnrichmentError(field, `${ms} ms is outside years 0000-9999`);
  return ms;
}

// Six timestamps per event, most of them shared by the events of one request or batch (the
// collector's, the tracker's send time): Date#toISOString took as much of the worker's CPU as
// the profile store. A small memo, emptied when full.
const isoMemo = new BoundedMemo<number, string>(4096);

function isoTstamp(ms: number, field: string): string {
  return isoMemo.get(ms, () => new Date(checkTstamp(ms, field)).toISOString());
}

function epochMs(v: string, param: string): number {
  if (!/^-?\d+$/.test(v)) throw new EnrichmentError(param, `${JSON.stringify(v)} is not a timestamp in milliseconds since the epoch`);
  return checkTstamp(Number(v), param);
}

// [tracker parameter, SDK field, conversion], after Enrich's transform map. Later rows overwrite
// earlier ones for the same field: legacy names first, `tnuid` over `nuid`.
const FIELDS: readonly (readonly [string, string, Convert])[] = [
  ['aid', 'app_id', text],
  ['p', 'platform', platform],
  ['tid', 'txn_id', int],
  ['tna', 'name_tracker', text],
  ['tv', 'v_tracker', text],
  ['uid', 'user_id', text],
  ['ip', 'user_ipaddress', ip],
  ['fp', 'user_fingerprint', text],
  ['duid', 'domain_userid', text],
  ['vid', 'domain_sessionidx', int],
  ['sid', 'domain_sessionid', text],
  ['nuid', 'network_userid', text],
  ['tnuid', 'network_userid', text],
  ['url', 'page_url', text],
  ['page', 'page_title', text],
  ['refr', 'page_referrer', text],
  ['ev_ca', 'se_category', text],
  ['ev_ac', 'se_action', text],
  ['ev_la', 'se_label', text],
  ['ev_pr', 'se_property', text],
  ['ev_va', 'se_value', double],
  ['se_ca', 'se_category', text],
  ['se_ac', 'se_action', text],
  ['se_la', 'se_label', text],
  ['se_pr', 'se_property', text],
  ['se_va', 'se_value', double],
  ['tr_id', 'tr_orderid', text],
  ['tr_af', 'tr_affiliation', text],
  ['tr_tt', 'tr_total', double],
  ['tr_tx', 'tr_tax', double],
  ['tr_sh', 'tr_shipping', double],
  ['tr_ci', 'tr_city', text],
  ['tr_st', 'tr_state', text],
  ['tr_co', 'tr_country', text],
  ['tr_cu', 'tr_currency', text],
  ['ti_id', 'ti_orderid', text],
  ['ti_sk', 'ti_sku', text],
  ['ti_na', 'ti_name', text],
  ['ti_nm', 'ti_name', text],
  ['ti_ca', 'ti_category', text],
  ['ti_pr', 'ti_price', double],
  ['ti_qu', 'ti_quantity', int],
  ['ti_cu', 'ti_currency', text],
  ['pp_mix', 'pp_xoffset_min', int],
  ['pp_max', 'pp_xoffset_max', int],
  ['pp_miy', 'pp_yoffset_min', int],
  ['pp_may', 'pp_yoffset_max', int],
  ['ua', 'useragent', text],
  ['lang', 'br_lang', text],
  ['f_pdf', 'br_features_pdf', bool],
  ['f_fla', 'br_features_flash', bool],
  ['f_java', 'br_features_java', bool],
  ['f_dir', 'br_features_director', bool],
  ['f_qt', 'br_features_quicktime', bool],
  ['f_realp', 'br_features_realplayer', bool],
  ['f_wma', 'br_features_windowsmedia', bool],
  ['f_gears', 'br_features_gears', bool],
  ['f_ag', 'br_features_silverlight', bool],
  ['cookie', 'br_cookies', bool],
  ['cd', 'br_colordepth', text],
  ['tz', 'os_timezone', text],
  ['cs', 'doc_charset', text],
];

// "<width>x<height>" parameters and the two fields each fills.
const DIMENSIONS: readonly (readonly [string, string, string])[] = [
  ['res', 'dvce_screenwidth', 'dvce_screenheight'],
  ['vp', 'br_viewwidth', 'br_viewheight'],
  ['ds', 'doc_width', 'doc_height'],
];

// Parameters come from JSON and query strings: only own keys count (no `toString` from the prototype).
function param(params: TrackerParams, key: string): string | undefined {
  return Object.hasOwn(params, key) && typeof params[key] === 'string' ? params[key] : undefined;
}

function atomicFields(params: TrackerParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field, convert] of FIELDS) {
    const v = param(params, key);
    if (v === undefined || v === '') continue;
    const converted = convert(v, key);
    if (converted !== undefined) out[field] = converted;
  }
  for (const [key, width, height] of DIMENSIONS) {
    const v = param(params, key);
    if (v === undefined || v === '') continue;
    const m = /^(\d+)x(\d+)$/.exec(v);
    if (!m || Number(m[1]) >= 2 ** 31 || Number(m[2]) >= 2 ** 31) throw new EnrichmentError(key, `${JSON.stringify(v)} is not <width>x<height>`);
    out[width] = Number(m[1]);
    out[height] = Number(m[2]);
  }
  return out;
}

/** URL components as Enrich explodes them; a URL it cannot parse keeps the URL and no components. */
function urlFields(prefix: 'page' | 'refr', raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string') return {};
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return {};
  }
  const scheme = u.protocol.replace(/:$/, '');
  return {
    [`${prefix}_urlscheme`]: scheme,
    [`${prefix}_urlhost`]: u.hostname || undefined,
    [`${prefix}_urlport`]: u.port ? Number(u.port) : scheme === 'https' ? 443 : 80,
    [`${prefix}_urlpath`]: u.pathname || undefined,
    [`${prefix}_urlquery`]: u.search.slice(1) || undefined,
    [`${prefix}_urlfragment`]: u.hash.slice(1) || undefined,
  };
}

// A few user agents make most traffic, and every event of a request carries the same one: parsing
// each (dozens of regexes) showed in the worker's CPU profile. Results are kept for the
// most recent agents; the map is cleared when full, which bounds it whatever the traffic.
const UA_CACHE_SIZE = 2000;
const uaCache = new BoundedMemo<string, Readonly<Record<string, unknown>>>(UA_CACHE_SIZE);

/** Browser, OS and device from the user agent, into Snowplow's legacy atomic fields. */
export function userAgentFields(ua: string | undefined): Record<string, unknown> {
  if (!ua) return {};
  return { ...uaCache.get(ua, parseUserAgent) };
}

function parseUserAgent(ua: string): Record<string, unknown> {
  const r = new UAParser(ua).getResult();
  const type = r.device.type;
  return {
    br_name: r.browser.name && r.browser.version ? `${r.browser.name} ${r.browser.version.split('.')[0]}` : r.browser.name,
    br_family: r.browser.name,
    br_version: r.browser.version,
    br_renderengine: r.engine.name,
    os_name: r.os.name && r.os.version ? `${r.os.name} ${r.os.version}` : r.os.name,
    os_family: r.os.name,
    os_manufacturer: r.device.vendor,
    dvce_type: type === 'mobile' ? 'Mobile' : type === 'tablet' ? 'Tablet' : type === undefined ? 'Computer' : type,
    dvce_ismobile: type === 'mobile' || type === 'tablet',
  };
}

// ---------------------------------------------------------------------------------------------
// Self-describing JSON: the event (ue_pr / ue_px) and the contexts (co / cx).

interface SelfDescribingJson {
  schema: string;
  data: unknown;
}

function isSelfDescribing(v: unknown): v is SelfDescribingJson {
  return isObject(v) && typeof v.schema === 'string' && Object.hasOwn(v, 'data');
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe base64, padded or not: trackers differ, and Enrich takes them all. */
function decodeBase64(v: string): string | undefined {
  // A standard-alphabet `+` arrives as a space when a GET query was form-decoded.
  const s = v.replace(/ /g, '+');
  if (!BASE64.test(s) || s.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');
}

/** The JSON in `plain` (as is) or `encoded` (base64), with the parameter it came from. */
function jsonParam(params: TrackerParams, plain: string, encoded: string): { field: string; value: unknown } | undefined {
  const raw = param(params, plain);
  if (raw !== undefined) {
    try {
      return { field: plain, value: JSON.parse(raw) };
    } catch {
      throw new EnrichmentError(plain, 'not valid JSON');
    }
  }
  const b64 = param(params, encoded);
  if (b64 === undefined) return undefined;
  const decoded = decodeBase64(b64);
  try {
    if (decoded === undefined) throw new SyntaxError('not base64');
    return { field: encoded, value: JSON.parse(decoded) };
  } catch {
    throw new EnrichmentError(encoded, 'not valid base64-encoded JSON');
  }
}

function selfDescribing(v: unknown, field: string, where: string): SelfDescribingJson & IgluUri {
  if (!isSelfDescribing(v)) throw new EnrichmentError(field, `${where} is not self-describing JSON (needs "schema" and "data")`);
  const key = parseIglu(v.schema);
  if (!key) throw new EnrichmentError(field, `${where}.schema ${JSON.stringify(v.schema)} is not an Iglu schema URI (iglu:vendor/name/format/M-R-A)`);
  return { schema: v.schema, data: v.data, ...key };
}

/** Unwraps Snowplow's envelope (`unstruct_event` or `contexts`, model 1) around the payload. */
function envelope(v: unknown, field: string, name: 'unstruct_event' | 'contexts'): unknown {
  const outer = selfDescribing(v, field, 'the JSON');
  if (outer.vendor !== 'com.snowplowanalytics.snowplow' || outer.name !== name || outer.model !== 1) {
    throw new EnrichmentError(field, `schema must be iglu:com.snowplowanalytics.snowplow/${name}/jsonschema/1-0-*, not ${outer.schema}`);
  }
  return outer.data;
}

function unstructEvent(params: TrackerParams): { field: string; event: SelfDescribingJson & IgluUri } | undefined {
  const json = jsonParam(params, 'ue_pr', 'ue_px');
  if (!json) return undefined;
  return { field: json.field, event: selfDescribing(envelope(json.value, json.field, 'unstruct_event'), json.field, 'data') };
}

function contexts(params: TrackerParams): { field: string; contexts: (SelfDescribingJson & IgluUri)[] } | undefined {
  const json = jsonParam(params, 'co', 'cx');
  if (!json) return undefined;
  const list = envelope(json.value, json.field, 'contexts');
  if (!Array.isArray(list)) throw new EnrichmentError(json.field, 'data must be an array of self-describing JSON');
  return { field: json.field, contexts: list.map((c, i) => selfDescribing(c, json.field, `data[${i}]`)) };
}

// ---------------------------------------------------------------------------------------------

interface EventKind {
  event: SdkEventType;
  /** The schema Enrich gives the event; an unstruct event has its own. */
  schema?: IgluUri;
}

const snowplowSchema = (name: string): IgluUri => ({ vendor: 'com.snowplowanalytics.snowplow', name, format: 'jsonschema', version: '1-0-0', model: 1 });

// Event codes of the tracker protocol and the event type and schema Enrich gives them
// (structured events are Google Analytics-style events: com.google.analytics/event).
const EVENT_KINDS: ReadonlyMap<string, EventKind> = new Map([
  ['pv', { event: 'page_view', schema: snowplowSchema('page_view') }],
  ['pp', { event: 'page_ping', schema: snowplowSchema('page_ping') }],
  ['se', { event: 'struct', schema: { ...snowplowSchema('event'), vendor: 'com.google.analytics' } }],
  ['ev', { event: 'struct', schema: { ...snowplowSchema('event'), vendor: 'com.google.analytics' } }],
  ['tr', { event: 'transaction', schema: snowplowSchema('transaction') }],
  ['ti', { event: 'transaction_item', schema: snowplowSchema('transaction_item') }],
  ['ue', { event: 'unstruct' }],
]);

/**
 * Snowplow's derived_tstamp: the tracker's true timestamp when it sent one; else the collector
 * time moved back by how long the event waited on the device (sent - created), which cancels the
 * device clock's skew; else, without both device times or with a sent time not after the created
 * one, the collector time.
 */
export function derivedTstamp(collector: number, created: number | undefined, sent: number | undefined, trueTs: number | undefined): number {
  if (trueTs !== undefined) return trueTs;
  if (created !== undefined && sent !== undefined && created < sent) return collector - (sent - created);
  return collector;
}

function timestamps(params: TrackerParams, meta: CollectorMeta, options: EnrichOptions): Record<string, string | undefined> {
  const read = (key: string) => {
    const v = param(params, key);
    return v === undefined || v === '' ? undefined : epochMs(v, key);
  };
  const created = read('dtm');
  const sent = read('stm');
  const trueTs = read('ttm');
  return {
    etl_tstamp: isoTstamp(options.etlTstamp ?? Date.now(), 'etl_tstamp'),
    collector_tstamp: isoTstamp(meta.collectorTstamp, 'collector_tstamp'),
    dvce_created_tstamp: created === undefined ? undefined : isoTstamp(created, 'dtm'),
    dvce_sent_tstamp: sent === undefined ? undefined : isoTstamp(sent, 'stm'),
    true_tstamp: trueTs === undefined ? undefined : isoTstamp(trueTs, 'ttm'),
    derived_tstamp: isoTstamp(derivedTstamp(meta.collectorTstamp, created, sent, trueTs), 'derived_tstamp'),
  };
}

type Contexts = ReturnType<typeof contexts>;
type UnstructEvent = ReturnType<typeof unstructEvent>;

/** Contexts of one schema model share one array, in the order the tracker sent them. */
function contextFields(co: Contexts): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const c of co?.contexts ?? []) {
    const field = sdkFieldName('contexts', c.vendor, c.name, c.model);
    (out[field] ??= []).push(c.data);
  }
  return out;
}

/**
 * Turns one event's tracker parameters into the Snowplow Analytics SDK shape, as Snowplow
 * Enrich followed by the SDK's `transform` would (without configurable enrichments: no geo,
 * campaign or referer-source fields yet). Throws EnrichmentError naming the parameter when the
 * event cannot be read; the caller turns that into a bad row.
 */
export function enrich(params: TrackerParams, meta: CollectorMeta, options: EnrichOptions = {}): SdkEvent {
  return enrichEvent(params, meta, options).sdk;
}

/** A self-describing JSON of an event, by the field it came in. */
export interface SelfDescribingField {
  field: string;
  json: { schema: string; data: unknown };
}

/**
 * enrich(), with the event's self-describing JSONs as selfDescribingJsons() lists them: the
 * pipeline needs both, and decoding and parsing the event's contexts and self-describing event
 * twice was a third of enriching a page view with one context.
 */
export function enrichEvent(params: TrackerParams, meta: CollectorMeta, options: EnrichOptions = {}): { sdk: SdkEvent; selfDescribing: SelfDescribingField[] } {
  const code = param(params, 'e');
  if (code === undefined || code === '') throw new EnrichmentError('e', 'the event has no event type');
  const kind = EVENT_KINDS.get(code);
  if (!kind) throw new EnrichmentError('e', `${JSON.stringify(code)} is not an event type (pv, pp, se, ue, tr, ti)`);
  const eventId = param(params, 'eid');
  if (eventId === undefined || eventId === '') throw new EnrichmentError('eid', 'the event has no event id');

  const ue = unstructEvent(params);
  if (kind.event === 'unstruct' && !ue) throw new EnrichmentError('ue_pr', 'a self-describing event needs ue_pr or ue_px');
  const schema = kind.schema ?? ue?.event;
  if (!schema) throw new EnrichmentError('e', 'the event has no schema');

  const atomic = atomicFields(params);
  const useragent = atomic.useragent ?? (meta.userAgent ? text(meta.userAgent, 'useragent') : undefined);
  // Read in the order the checks ran before (the first problem found names the field).
  const times = timestamps(params, meta, options);
  const ipAddress = meta.ipAddress === undefined ? undefined : ip(meta.ipAddress, 'user_ipaddress');
  const co = contexts(params);
  const sdk: Record<string, unknown> = {
    app_id: atomic.app_id,
    platform: atomic.platform,
    ...times,
    event: kind.event,
    event_id: eventId,
    event_vendor: schema.vendor,
    event_name: schema.name,
    event_format: schema.format,
    event_version: schema.version,
    v_collector: meta.collector,
    v_etl: ETL_VERSION,
    user_ipaddress: ipAddress,
    network_userid: meta.networkUserId,
    ...atomic,
    useragent,
    ...urlFields('page', atomic.page_url),
    ...urlFields('refr', atomic.page_referrer),
    ...(typeof useragent === 'string' ? userAgentFields(useragent) : {}),
    ...(ue ? { [sdkFieldName('unstruct_event', ue.event.vendor, ue.event.name, ue.event.model)]: ue.event.data } : {}),
    ...contextFields(co),
  };
  // The SDKs leave out fields without a value.
  for (const k of Object.keys(sdk)) if (sdk[k] === undefined) delete sdk[k];
  return { sdk: sdk as SdkEvent, selfDescribing: selfDescribingList(ue, co) };
}

function selfDescribingList(ue: UnstructEvent, co: Contexts): SelfDescribingField[] {
  const out: SelfDescribingField[] = [];
  if (ue) out.push({ field: ue.field, json: { schema: ue.event.schema, data: ue.event.data } });
  co?.contexts.forEach((c, i) => out.push({ field: `${co.field}.data[${i}]`, json: { schema: c.schema, data: c.data } }));
  return out;
}

/** The self-describing JSONs of an event that must validate against their schemas, by field. */
export function selfDescribingJsons(params: TrackerParams): SelfDescribingField[] {
  return selfDescribingList(unstructEvent(params), contexts(params));
}
