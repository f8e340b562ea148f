import { UAParser } from 'ua-parser-js';
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

/** An event in the Snowplow Analytics SDK JSON shape. */
export type SdkEvent = {
  event_id: string;
  event: string;
  event_name: string;
  collector_tstamp: string;
  derived_tstamp: string;
  [field: string]: unknown;
};

/** An event that cannot be turned into an SdkEvent; `field` names the parameter at fault. */
export class EnrichmentError extends Error {
  override name = 'EnrichmentError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export interface IgluUri {
  vendor: string;
  name: string;
  format: string;
  version: string;
  model: number;
}

const IGLU = /^iglu:([a-zA-Z0-9_.-]+)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/(([0-9]+)-[0-9]+-[0-9]+)$/;

export function iglu(uri: string): IgluUri {
  const m = IGLU.exec(uri);
  if (!m) throw new EnrichmentError('schema', `not an Iglu URI: ${JSON.stringify(uri)}`);
  return { vendor: m[1], name: m[2], format: m[3], version: m[4], model: Number(m[5]) };
}

/** Snowplow's column naming: vendor dots and dashes to `_`, camelCase name to snake_case. */
export function sdkFieldName(kind: 'unstruct_event' | 'contexts', vendor: string, name: string, model: number): string {
  const v = vendor.replace(/[.-]/g, '_').toLowerCase();
  const n = name
    .replace(/([^A-Z_])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  return `${kind}_${v}_${n}_${model}`;
}

// Event codes of the tracker protocol and the event name and schema Snowplow Enrich gives them.
const EVENTS: Record<string, { event: string; name?: string }> = {
  pv: { event: 'page_view', name: 'page_view' },
  pp: { event: 'page_ping', name: 'page_ping' },
  se: { event: 'struct', name: 'event' },
  tr: { event: 'transaction', name: 'transaction' },
  ti: { event: 'transaction_item', name: 'transaction_item' },
  ue: { event: 'unstruct' },
};

function decodeJson(params: TrackerParams, plain: string, encoded: string): unknown {
  if (params[plain] !== undefined) {
    try {
      return JSON.parse(params[plain]);
    } catch {
      throw new EnrichmentError(plain, 'not valid JSON');
    }
  }
  if (params[encoded] !== undefined) {
    try {
      const b64 = params[encoded].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
    } catch {
      throw new EnrichmentError(encoded, 'not valid base64-encoded JSON');
    }
  }
  return undefined;
}

interface SelfDescribing {
  schema: string;
  data: unknown;
}

function selfDescribing(v: unknown, field: string): SelfDescribing {
  if (typeof v !== 'object' || v === null || typeof (v as SelfDescribing).schema !== 'string' || !('data' in v)) {
    throw new EnrichmentError(field, 'self-describing JSON needs "schema" and "data"');
  }
  return v as SelfDescribing;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

function ms(params: TrackerParams, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new EnrichmentError(key, `not a timestamp in milliseconds: ${JSON.stringify(v)}`);
  return n;
}

function num(params: TrackerParams, key: string): number | undefined {
  const v = params[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function urlFields(prefix: 'page' | 'refr', raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const u = new URL(raw);
    return {
      [`${prefix}_urlscheme`]: u.protocol.replace(/:$/, ''),
      [`${prefix}_urlhost`]: u.hostname,
      [`${prefix}_urlport`]: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80,
      [`${prefix}_urlpath`]: u.pathname,
      [`${prefix}_urlquery`]: u.search ? u.search.slice(1) : undefined,
      [`${prefix}_urlfragment`]: u.hash ? u.hash.slice(1) : undefined,
    };
  } catch {
    return {};
  }
}

function dimensions(v: string | undefined): [number, number] | [undefined, undefined] {
  const m = v ? /^(\d+)x(\d+)$/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : [undefined, undefined];
}

/** Browser, OS and device from the user agent, into Snowplow's legacy atomic fields. */
export function userAgentFields(ua: string | undefined): Record<string, unknown> {
  if (!ua) return {};
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

/**
 * Turns one event's tracker parameters into the Snowplow Analytics SDK shape. derived_tstamp
 * follows Snowplow's rule: the collector time corrected by the device's clock skew
 * (`collector - (sent - created)`), or the tracker's true timestamp when it sent one.
 */
export function enrich(params: TrackerParams, meta: CollectorMeta): SdkEvent {
  const code = params.e;
  const kind = EVENTS[code];
  if (!kind) throw new EnrichmentError('e', `unknown event type ${JSON.stringify(code)}`);
  const eventId = params.eid;
  if (!eventId) throw new EnrichmentError('eid', 'the event has no event id');

  const created = ms(params, 'dtm');
  const sent = ms(params, 'stm');
  const trueTs = ms(params, 'ttm');
  const derived = trueTs ?? (created !== undefined && sent !== undefined ? meta.collectorTstamp - (sent - created) : meta.collectorTstamp);

  const [screenWidth, screenHeight] = dimensions(params.res);
  const [viewWidth, viewHeight] = dimensions(params.vp);
  const [docWidth, docHeight] = dimensions(params.ds);
  const useragent = params.ua ?? meta.userAgent;

  const out: SdkEvent = {
    app_id: params.aid,
    platform: params.p,
    etl_tstamp: new Date().toISOString(),
    collector_tstamp: new Date(meta.collectorTstamp).toISOString(),
    dvce_created_tstamp: iso(created),
    dvce_sent_tstamp: iso(sent),
    true_tstamp: iso(trueTs),
    derived_tstamp: new Date(derived).toISOString(),
    event: kind.event,
    event_id: eventId,
    event_name: kind.name ?? 'unstruct',
    event_vendor: 'com.snowplowanalytics.snowplow',
    event_format: 'jsonschema',
    event_version: '1-0-0',
    name_tracker: params.tna,
    v_tracker: params.tv,
    v_collector: meta.collector,
    v_etl: 'beltline-0.1.0',
    user_id: params.uid,
    user_ipaddress: params.ip ?? meta.ipAddress,
    user_fingerprint: params.fp,
    domain_userid: params.duid,
    domain_sessionidx: num(params, 'vid'),
    domain_sessionid: params.sid,
    network_userid: params.tnuid ?? params.nuid ?? meta.networkUserId,
    page_url: params.url,
    page_title: params.page,
    page_referrer: params.refr,
    ...urlFields('page', params.url),
    useragent,
    ...userAgentFields(useragent),
    dvce_screenwidth: screenWidth,
    dvce_screenheight: screenHeight,
    br_viewwidth: viewWidth,
    br_viewheight: viewHeight,
    doc_width: docWidth,
    doc_height: docHeight,
    doc_charset: params.cs,
    br_colordepth: params.cd,
    br_cookies: params.cookie === undefined ? undefined : params.cookie === '1',
    br_lang: params.lang,
    os_timezone: params.tz,
    se_category: params.se_ca,
    se_action: params.se_ac,
    se_label: params.se_la,
    se_property: params.se_pr,
    se_value: num(params, 'se_va'),
    tr_orderid: params.tr_id,
    tr_affiliation: params.tr_af,
    tr_total: num(params, 'tr_tt'),
    tr_tax: num(params, 'tr_tx'),
    tr_shipping: num(params, 'tr_sh'),
    tr_city: params.tr_ci,
    tr_state: params.tr_st,
    tr_country: params.tr_co,
    tr_currency: params.tr_cu,
    ti_orderid: params.ti_id,
    ti_sku: params.ti_sk,
    ti_name: params.ti_nm,
    ti_category: params.ti_ca,
    ti_price: num(params, 'ti_pr'),
    ti_quantity: num(params, 'ti_qu'),
    ti_currency: params.ti_cu,
    pp_xoffset_min: num(params, 'pp_mix'),
    pp_xoffset_max: num(params, 'pp_max'),
    pp_yoffset_min: num(params, 'pp_miy'),
    pp_yoffset_max: num(params, 'pp_may'),
  };

  if (code === 'ue') {
    const wrapper = decodeJson(params, 'ue_pr', 'ue_px');
    if (wrapper === undefined) throw new EnrichmentError('ue_pr', 'a self-describing event needs ue_pr or ue_px');
    const inner = selfDescribing(selfDescribing(wrapper, 'ue_pr').data, 'ue_pr.data');
    const s = iglu(inner.schema);
    Object.assign(out, { event_vendor: s.vendor, event_name: s.name, event_format: s.format, event_version: s.version });
    out[sdkFieldName('unstruct_event', s.vendor, s.name, s.model)] = inner.data;
  }

  const contexts = decodeJson(params, 'co', 'cx');
  if (contexts !== undefined) {
    const list = selfDescribing(contexts, 'co').data;
    if (!Array.isArray(list)) throw new EnrichmentError('co', 'contexts data must be an array');
    list.forEach((c, i) => {
      const ctx = selfDescribing(c, `co.data[${i}]`);
      const s = iglu(ctx.schema);
      const field = sdkFieldName('contexts', s.vendor, s.name, s.model);
      out[field] = [...((out[field] as unknown[] | undefined) ?? []), ctx.data];
    });
  }

  // The SDK leaves out fields without a value.
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

/** The self-describing JSONs of an event that must validate against their schemas, by field. */
export function selfDescribingJsons(params: TrackerParams): { field: string; json: { schema: string; data: unknown } }[] {
  const out: { field: string; json: { schema: string; data: unknown } }[] = [];
  if (params.e === 'ue') {
    const wrapper = decodeJson(params, 'ue_pr', 'ue_px');
    if (wrapper !== undefined) {
      const field = params.ue_pr !== undefined ? 'ue_pr' : 'ue_px';
      out.push({ field, json: selfDescribing(selfDescribing(wrapper, field).data, `${field}.data`) });
    }
  }
  const contexts = decodeJson(params, 'co', 'cx');
  if (contexts !== undefined) {
    const field = params.co !== undefined ? 'co' : 'cx';
    const list = selfDescribing(contexts, field).data;
    if (Array.isArray(list)) list.forEach((c, i) => out.push({ field: `${field}.data[${i}]`, json: selfDescribing(c, `${field}.data[${i}]`) }));
  }
  return out;
}
