import { isObject } from '../shared/json';
import { iglu, sdkFieldName, EnrichmentError } from './enrich';

/**
 * Snowplow's enriched TSV: the 131 tab-separated fields Enrich writes (`snowplow_parsed_good` in
 * seed 003), turned into the Analytics SDK JSON shape beltline's Snowplow events already have
 * (src/snowplow/enrich.ts), as the SDKs' `transform` does.
 *
 * beltline's own parser rather than npm `snowplow-analytics-sdk` at run time: the only release on
 * npm (0.1.0, 2018) still names field 126 `refr_device_tstamp` (renamed `refr_dvce_tstamp` in the
 * SDK's 0.3.0, never published), rejects Iglu vendors with dashes, reads `12abc` as the integer 12
 * and a bad JSON field as a bare SyntaxError; a bad row here must name the field and keep the line.
 * test/unit/snowplow-enriched-tsv.test.ts checks this parser against that SDK on the same lines,
 * with the few differences listed there.
 */

type Kind = 'string' | 'int' | 'double' | 'bool' | 'tstamp' | 'contexts' | 'unstruct';

/** The enriched event's fields in TSV order, with how each is read (Snowplow's Analytics SDKs' table). */
export const ENRICHED_FIELDS: readonly (readonly [string, Kind])[] = [
  ['app_id', 'string'],
  ['platform', 'string'],
  ['etl_tstamp', 'tstamp'],
  ['collector_tstamp', 'tstamp'],
  ['dvce_created_tstamp', 'tstamp'],
  ['event', 'string'],
  ['event_id', 'string'],
  ['txn_id', 'int'],
  ['name_tracker', 'string'],
  ['v_tracker', 'string'],
  ['v_collector', 'string'],
  ['v_etl', 'string'],
  ['user_id', 'string'],
  ['user_ipaddress', 'string'],
  ['user_fingerprint', 'string'],
  ['domain_userid', 'string'],
  ['domain_sessionidx', 'int'],
  ['network_userid', 'string'],
  ['geo_country', 'string'],
  ['geo_region', 'string'],
  ['geo_city', 'string'],
  ['geo_zipcode', 'string'],
  ['geo_latitude', 'double'],
  ['geo_longitude', 'double'],
  ['geo_region_name', 'string'],
  ['ip_isp', 'string'],
  ['ip_organization', 'string'],
  ['ip_domain', 'string'],
  ['ip_netspeed', 'string'],
  ['page_url', 'string'],
  ['page_title', 'string'],
  ['page_referrer', 'string'],
  ['page_urlscheme', 'string'],
  ['page_urlhost', 'string'],
  ['page_urlport', 'int'],
  ['page_urlpath', 'string'],
  ['page_urlquery', 'string'],
  ['page_urlfragment', 'string'],
  ['refr_urlscheme', 'string'],
  ['refr_urlhost', 'string'],
  ['refr_urlport', 'int'],
  ['refr_urlpath', 'string'],
  ['refr_urlquery', 'string'],
  ['refr_urlfragment', 'string'],
  ['refr_medium', 'string'],
  ['refr_source', 'string'],
  ['refr_term', 'string'],
  ['mkt_medium', 'string'],
  ['mkt_source', 'string'],
  ['mkt_term', 'string'],
  ['mkt_content', 'string'],
  ['mkt_campaign', 'string'],
  ['contexts', 'contexts'],
  ['se_category', 'string'],
  ['se_action', 'string'],
  ['se_label', 'string'],
  ['se_property', 'string'],
  // A number, as in the Scala and Python SDKs and beltline's collector events (the JS SDK keeps the string).
  ['se_value', 'double'],
  ['unstruct_event', 'unstruct'],
  ['tr_orderid', 'string'],
  ['tr_affiliation', 'string'],
  ['tr_total', 'double'],
  ['tr_tax', 'double'],
  ['tr_shipping', 'double'],
  ['tr_city', 'string'],
  ['tr_state', 'string'],
  ['tr_country', 'string'],
  ['ti_orderid', 'string'],
  ['ti_sku', 'string'],
  ['ti_name', 'string'],
  ['ti_category', 'string'],
  ['ti_price', 'double'],
  ['ti_quantity', 'int'],
  ['pp_xoffset_min', 'int'],
  ['pp_xoffset_max', 'int'],
  ['pp_yoffset_min', 'int'],
  ['pp_yoffset_max', 'int'],
  ['useragent', 'string'],
  ['br_name', 'string'],
  ['br_family', 'string'],
  ['br_version', 'string'],
  ['br_type', 'string'],
  ['br_renderengine', 'string'],
  ['br_lang', 'string'],
  ['br_features_pdf', 'bool'],
  ['br_features_flash', 'bool'],
  ['br_features_java', 'bool'],
  ['br_features_director', 'bool'],
  ['br_features_quicktime', 'bool'],
  ['br_features_realplayer', 'bool'],
  ['br_features_windowsmedia', 'bool'],
  ['br_features_gears', 'bool'],
  ['br_features_silverlight', 'bool'],
  ['br_cookies', 'bool'],
  ['br_colordepth', 'string'],
  ['br_viewwidth', 'int'],
  ['br_viewheight', 'int'],
  ['os_name', 'string'],
  ['os_family', 'string'],
  ['os_manufacturer', 'string'],
  ['os_timezone', 'string'],
  ['dvce_type', 'string'],
  ['dvce_ismobile', 'bool'],
  ['dvce_screenwidth', 'int'],
  ['dvce_screenheight', 'int'],
  ['doc_charset', 'string'],
  ['doc_width', 'int'],
  ['doc_height', 'int'],
  ['tr_currency', 'string'],
  ['tr_total_base', 'double'],
  ['tr_tax_base', 'double'],
  ['tr_shipping_base', 'double'],
  ['ti_currency', 'string'],
  ['ti_price_base', 'double'],
  ['base_currency', 'string'],
  ['geo_timezone', 'string'],
  ['mkt_clickid', 'string'],
  ['mkt_network', 'string'],
  ['etl_tags', 'string'],
  ['dvce_sent_tstamp', 'tstamp'],
  ['refr_domain_userid', 'string'],
  ['refr_dvce_tstamp', 'tstamp'],
  ['derived_contexts', 'contexts'],
  ['domain_sessionid', 'string'],
  ['derived_tstamp', 'tstamp'],
  ['event_vendor', 'string'],
  ['event_name', 'string'],
  ['event_format', 'string'],
  ['event_version', 'string'],
  ['event_fingerprint', 'string'],
  ['true_tstamp', 'tstamp'],
];

const LATITUDE = ENRICHED_FIELDS.findIndex(([f]) => f === 'geo_latitude');
const LONGITUDE = ENRICHED_FIELDS.findIndex(([f]) => f === 'geo_longitude');

/** One field that does not read as its type (a loader_parsing_error's `InvalidValue`). */
export interface InvalidValue {
  type: 'InvalidValue';
  key: string;
  value: string;
  message: string;
}

/** Why a line is no enriched event, in the shape of Snowplow's loader_parsing_error bad row. */
export type EnrichedTsvFailure = { type: 'FieldNumberMismatch'; fieldCount: number } | { type: 'RowDecodingError'; errors: InvalidValue[] };

export type EnrichedTsvResult = { ok: true; event: Record<string, unknown> } | { ok: false; failure: EnrichedTsvFailure };

/** How to say in words what a failure is: for logs and the API. */
export function describeFailure(f: EnrichedTsvFailure): string {
  if (f.type === 'FieldNumberMismatch') return `${f.fieldCount} tab-separated fields, an enriched event has ${ENRICHED_FIELDS.length}`;
  return f.errors.map((e) => `${e.key}: ${e.message}`).join('; ');
}

class FieldError extends Error {}

const INT = /^[-+]?\d+$/;
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
// What Enrich writes (`yyyy-MM-dd HH:mm:ss.SSS`); the SDKs turn it into ISO 8601 by text alone.
const TSTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/;

function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new FieldError(`not JSON: ${(err as Error).message}`);
  }
}

/** The SDK field name of a self-describing JSON, from its Iglu URI. */
function fieldFor(kind: 'contexts' | 'unstruct_event', sd: unknown, where: string): { field: string; data: unknown } {
  if (!isObject(sd) || typeof sd.schema !== 'string' || !Object.hasOwn(sd, 'data')) throw new FieldError(`${where} is not self-describing JSON (needs "schema" and "data")`);
  try {
    const key = iglu(sd.schema);
    return { field: sdkFieldName(kind, key.vendor, key.name, key.model), data: sd.data };
  } catch (err) {
    if (err instanceof EnrichmentError) throw new FieldError(`${where}: ${err.message}`);
    throw err;
  }
}

function read(kind: Kind, value: string, out: Record<string, unknown>, name: string): void {
  switch (kind) {
    case 'string':
      out[name] = value;
      return;
    case 'int': {
      const n = Number(value);
      if (!INT.test(value) || !Number.isSafeInteger(n)) throw new FieldError(`${JSON.stringify(value)} is not an integer`);
      out[name] = n;
      return;
    }
    case 'double': {
      const n = Number(value);
      if (!DECIMAL.test(value) || !Number.isFinite(n)) throw new FieldError(`${JSON.stringify(value)} is not a number`);
      out[name] = n;
      return;
    }
    case 'bool':
      if (value !== '0' && value !== '1') throw new FieldError(`${JSON.stringify(value)} is not a boolean ("0" or "1")`);
      out[name] = value === '1';
      return;
    case 'tstamp':
      if (!TSTAMP.test(value) || Number.isNaN(Date.parse(`${value.replace(' ', 'T')}Z`))) throw new FieldError(`${JSON.stringify(value)} is not a timestamp (yyyy-MM-dd HH:mm:ss.SSS)`);
      out[name] = `${value.replace(' ', 'T')}Z`;
      return;
    case 'contexts': {
      const envelope = json(value);
      if (!isObject(envelope) || !Array.isArray(envelope.data)) throw new FieldError('not a contexts envelope ({"schema": …, "data": [ … ]})');
      // Contexts of one schema model share one array; `contexts` and `derived_contexts` both
      // adding one keep both (the SDKs would keep only the derived ones).
      envelope.data.forEach((c, i) => {
        const { field, data } = fieldFor('contexts', c, `data[${i}]`);
        const list = (out[field] ??= []) as unknown[];
        list.push(data);
      });
      return;
    }
    case 'unstruct': {
      const envelope = json(value);
      if (!isObject(envelope)) throw new FieldError('not an unstruct_event envelope ({"schema": …, "data": {…}})');
      const { field, data } = fieldFor('unstruct_event', envelope.data, 'data');
      out[field] = data;
      return;
    }
  }
}

/**
 * One enriched TSV line as Analytics SDK JSON: empty fields left out, contexts as
 * `contexts_<vendor>_<name>_<model>` arrays, the self-describing event as
 * `unstruct_event_<vendor>_<name>_<model>`, and `geo_location` ("lat,lon") when both are set.
 * Every field that does not read is reported, not only the first. Pure.
 */
export function parseEnrichedTsv(line: string): EnrichedTsvResult {
  const values = line.split('\t');
  if (values.length !== ENRICHED_FIELDS.length) return { ok: false, failure: { type: 'FieldNumberMismatch', fieldCount: values.length } };
  const event: Record<string, unknown> = {};
  const errors: InvalidValue[] = [];
  ENRICHED_FIELDS.forEach(([name, kind], i) => {
    const value = values[i];
    if (value === '') return;
    try {
      read(kind, value, event, name);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      errors.push({ type: 'InvalidValue', key: name, value, message: err.message });
    }
  });
  if (errors.length > 0) return { ok: false, failure: { type: 'RowDecodingError', errors } };
  if (values[LATITUDE] !== '' && values[LONGITUDE] !== '') event.geo_location = `${values[LATITUDE]},${values[LONGITUDE]}`;
  return { ok: true, event };
}

// ---------------------------------------------------------------------------------------------
// Writing: the inverse, for Snowplow loaders consuming beltline's output.

const CONTEXTS_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0';
const UNSTRUCT_SCHEMA = 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0';

/** The self-describing JSONs of an event by the tracker parameter they came in (`ue_pr`, `cx.data[0]`, …). */
export interface SelfDescribingParts {
  unstruct?: { schema: string; data: unknown };
  contexts: { schema: string; data: unknown }[];
}

/** The event's self-describing JSONs as the collector's enrichment lists them (`selfDescribingJsons`). */
export function selfDescribingParts(list: readonly { field: string; json: { schema: string; data: unknown } }[]): SelfDescribingParts {
  const parts: SelfDescribingParts = { contexts: [] };
  for (const { field, json: sd } of list) {
    if (field === 'ue_pr' || field === 'ue_px') parts.unstruct = sd;
    else parts.contexts.push(sd);
  }
  return parts;
}

// A field's text may hold no tab or line break: Enrich writes them as spaces, as does this.
const text = (v: string): string => v.replace(/[\t\n\r]/g, ' ');

function write(kind: Kind, v: unknown, name: string): string {
  if (v === undefined || v === null) return '';
  switch (kind) {
    case 'string':
      return text(String(v));
    case 'int':
    case 'double':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name} is not a number`);
      return String(v);
    case 'bool':
      return v === true ? '1' : '0';
    case 'tstamp': {
      // The SDK JSON's ISO 8601 back to Enrich's `yyyy-MM-dd HH:mm:ss.SSS`.
      const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)Z$/.exec(String(v));
      if (!m) throw new Error(`${name} is not an ISO 8601 UTC timestamp`);
      return `${m[1]} ${m[2]}`;
    }
    case 'contexts':
    case 'unstruct':
      return '';
  }
}

/**
 * An Analytics SDK JSON event as an enriched TSV line (what Enrich writes and Snowplow's loaders
 * read), the inverse of parseEnrichedTsv. The SDK JSON keeps a context's schema only as vendor,
 * name and model, so the contexts and the self-describing event are written from their original
 * self-describing JSON (`parts`), as the collector read them. Pure.
 */
export function toEnrichedTsv(event: Readonly<Record<string, unknown>>, parts: SelfDescribingParts): string {
  return ENRICHED_FIELDS.map(([name, kind]) => {
    if (name === 'contexts') return parts.contexts.length === 0 ? '' : JSON.stringify({ schema: CONTEXTS_SCHEMA, data: parts.contexts });
    if (name === 'unstruct_event') return parts.unstruct ? JSON.stringify({ schema: UNSTRUCT_SCHEMA, data: parts.unstruct }) : '';
    return write(kind, event[name], name);
  }).join('\t');
}
