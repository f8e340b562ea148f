import { badRow, type BadRow } from '../badrows/format';
import { enrich, EnrichmentError, type SdkEvent } from '../snowplow/enrich';
import type { IngestBatchInput, RawRecord } from './record';

/** The event type Snowplow tracker events belong to until harvesters route them. */
export const SNOWPLOW_EVENT_TYPE = 'snowplow';

export type EventHeaders = Record<string, string | number>;

/** An event as stored in the event store and handed to belts. */
export interface PipelineEvent {
  eventId: string;
  eventType: string;
  correlationId: string;
  /** Epoch ms. */
  created: number;
  headers: EventHeaders;
  payload: unknown;
}

export interface KeyedBadRow {
  /** Where the bad input sat (topic:partition:offset[:index]): re-processing yields the same key. */
  key: string;
  row: BadRow;
}

export interface ExpandedBatch {
  events: PipelineEvent[];
  badRows: KeyedBadRow[];
  /** Events dropped because an earlier event of the batch had the same id. */
  duplicates: number;
}

/** Seed headers (`grnry-*`) so seed belts run unchanged, plus where the event came from. */
function headersFor(e: Omit<PipelineEvent, 'headers'>, topic: string, partition: number, offset: string): EventHeaders {
  return {
    'grnry-correlation-id': e.correlationId,
    'grnry-event-id': e.eventId,
    'grnry-created': e.created,
    'grnry-event-type': e.eventType,
    'kafka-topic': topic,
    'kafka-partition': partition,
    'kafka-offset': offset,
  };
}

/** The profile a tracker event belongs to: the known user first, then the browser, then the network cookie. */
export function snowplowCorrelationId(e: SdkEvent): string {
  for (const k of ['user_id', 'domain_userid', 'network_userid'] as const) {
    const v = e[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return e.event_id;
}

function parseRecord(value: string): RawRecord | string {
  try {
    const r = JSON.parse(value) as RawRecord;
    if (r && (r.kind === 'snowplow' || r.kind === 'json') && Array.isArray(r.events)) return r;
    return 'not a beltline collector record (kind/events missing)';
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
}

/** Turns a batch's Kafka records into pipeline events and bad rows. Pure. */
export function expandRecords(input: IngestBatchInput): ExpandedBatch {
  const events: PipelineEvent[] = [];
  const badRows: KeyedBadRow[] = [];
  const seen = new Set<string>();
  let duplicates = 0;

  const add = (e: Omit<PipelineEvent, 'headers'>, offset: string): void => {
    if (seen.has(e.eventId)) {
      duplicates++;
      return;
    }
    seen.add(e.eventId);
    events.push({ ...e, headers: headersFor(e, input.topic, input.partition, offset) });
  };

  for (const { offset, value } of input.records) {
    const where = `${input.topic}:${input.partition}:${offset}`;
    const record = parseRecord(value);
    if (typeof record === 'string') {
      badRows.push({
        key: where,
        row: badRow('collector_payload_format_violation', { loader: 'beltline', message: { error: record } }, value),
      });
      continue;
    }
    if (record.kind === 'json') {
      for (const e of record.events) {
        add({ eventId: e.eventId, eventType: record.eventType, correlationId: e.correlationId, created: e.created, payload: e.payload }, offset);
      }
      continue;
    }
    record.events.forEach((params, i) => {
      try {
        const sdk = enrich(params, {
          collectorTstamp: record.timestamp,
          ipAddress: record.ipAddress,
          userAgent: record.userAgent,
          networkUserId: record.networkUserId,
          hostname: record.hostname,
          collector: record.collector,
        });
        add(
          {
            eventId: sdk.event_id,
            eventType: SNOWPLOW_EVENT_TYPE,
            correlationId: snowplowCorrelationId(sdk),
            created: Date.parse(sdk.derived_tstamp),
            payload: sdk,
          },
          offset,
        );
      } catch (err) {
        if (!(err instanceof EnrichmentError)) throw err;
        badRows.push({
          key: `${where}:${i}`,
          row: badRow(
            'tracker_protocol_violations',
            { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', messages: [{ field: err.field, error: err.message }] },
            { raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters: params }, collector: record.collector, timestamp: record.timestamp },
          ),
        });
      }
    });
  }
  return { events, badRows, duplicates };
}
