import type { BadRow } from '../badrows/format';
import type { JsonRecord, RawRecord, SnowplowRecord } from '../batches/record';
import { isObject } from '../shared/json';

/**
 * A recovered payload as the record the collector would have written to `raw`, so the repaired
 * event goes through validation, belts and profiles like any other. Pure.
 */

export const RECOVERY_COLLECTOR = 'beltline-recovery-0.1.0';

export class NotAnEvent extends Error {
  override name = 'NotAnEvent';
}

/** Where a recovered record came from; the bridge ignores it, a reader of `raw` sees it. */
export interface RecoveryProvenance {
  recovery: { run: string; badRow: string };
}

export interface RecoveredRecord {
  /** The Kafka key: the user, as the collector keys tracker events, so one user's events stay in order. */
  key?: string;
  record: RawRecord & RecoveryProvenance;
}


const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Tracker parameters are strings: numbers and booleans a step made become their text; nothing else may stay. */
function trackerParams(v: unknown): Record<string, string> {
  if (!isObject(v)) throw new NotAnEvent('raw.parameters is not an object');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else if (x !== null && x !== undefined) throw new NotAnEvent(`raw.parameters.${k} is not a string (${JSON.stringify(x).slice(0, 80)})`);
  }
  if (!out.e) throw new NotAnEvent('raw.parameters has no event type "e"');
  return out;
}

function snowplowRecord(payload: Record<string, unknown>, at: number): SnowplowRecord {
  const raw = isObject(payload.raw) ? payload.raw : {};
  // tracker_protocol_violations keep collector and timestamp beside raw; schema_violations have the
  // enriched event, which holds what the collector knew of the request.
  const enriched = isObject(payload.enriched) ? payload.enriched : {};
  const collectorTstamp = str(enriched.collector_tstamp);
  const timestamp = typeof payload.timestamp === 'number' ? payload.timestamp : collectorTstamp ? Date.parse(collectorTstamp) : at;
  return {
    kind: 'snowplow',
    collector: str(payload.collector) ?? str(enriched.v_collector) ?? RECOVERY_COLLECTOR,
    timestamp: Number.isFinite(timestamp) ? timestamp : at,
    path: '/com.snowplowanalytics.snowplow/tp2',
    ...(str(enriched.user_ipaddress) ? { ipAddress: str(enriched.user_ipaddress) } : {}),
    ...(str(enriched.useragent) ? { userAgent: str(enriched.useragent) } : {}),
    ...(str(enriched.network_userid) ? { networkUserId: str(enriched.network_userid) } : {}),
    events: [trackerParams(raw.parameters)],
  };
}

function parseRawRecord(text: string): RawRecord {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (err) {
    throw new NotAnEvent(`the payload is still not JSON: ${(err as Error).message}`);
  }
  if (!isObject(r) || (r.kind !== 'snowplow' && r.kind !== 'json') || !Array.isArray(r.events)) {
    throw new NotAnEvent('the payload is still not a collector record (kind and events)');
  }
  return r as unknown as RawRecord;
}

/**
 * The `raw` record for a recovered payload of this bad row's type. `at` (epoch ms) stands for the
 * collector's time where the bad row does not keep it. Throws NotAnEvent with the reason.
 */
export function toRawRecord(row: BadRow, payload: unknown, provenance: RecoveryProvenance['recovery'], at: number): RecoveredRecord {
  const type = row.schema.split('/')[1];
  switch (type) {
    case 'schema_violations':
    case 'tracker_protocol_violations': {
      if (!isObject(payload)) throw new NotAnEvent('the payload is not an object with raw.parameters');
      const record = snowplowRecord(payload, at);
      const first = record.events[0];
      return { key: first.uid || first.duid || first.tnuid || undefined, record: { ...record, recovery: provenance } };
    }
    case 'adapter_failures': {
      // beltline keeps {eventType, payload} where the event type was known.
      if (!isObject(payload) || typeof payload.eventType !== 'string' || !('payload' in payload)) {
        throw new NotAnEvent('an adapter_failures payload is recovered from {eventType, payload}');
      }
      const failedAt = Date.parse(String((row.data.failure as { timestamp?: unknown }).timestamp));
      const record: JsonRecord = { kind: 'json', collector: RECOVERY_COLLECTOR, timestamp: Number.isFinite(failedAt) ? failedAt : at, eventType: payload.eventType, events: [payload.payload] };
      return { record: { ...record, recovery: provenance } };
    }
    case 'collector_payload_format_violation': {
      const record = parseRawRecord(typeof payload === 'string' ? payload : JSON.stringify(payload));
      return { record: { ...record, recovery: provenance } };
    }
    default:
      throw new NotAnEvent(`${type} bad rows cannot be sent again`);
  }
}
