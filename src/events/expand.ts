import { badRow, type BadRow } from '../badrows/format';
import { evaluateId, evaluateTimestamp, parseExpression, type EventType } from '../eventtypes/definition';
import { DefinitionError } from '../shared/errors';
import { enrichEvent, EnrichmentError } from '../snowplow/enrich';
import type { BatchRecord, RawRecord } from '../batches/record';

/** The event type Snowplow tracker events belong to until harvesters route them. */
export const SNOWPLOW_EVENT_TYPE = 'snowplow';

export type EventHeaders = Record<string, string | number>;

/** An event as stored in the event store and handed to belts. */
export interface PipelineEvent {
  /** Self-describing JSONs to validate against their schemas before the event counts as good. */
  selfDescribing?: { field: string; json: { schema: string; data: unknown } }[];
  /** What to keep as the bad row's payload if validation fails. */
  raw?: unknown;
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

/** A record of another topic, for harvesters reading that topic. */
export interface TopicPayload {
  key: string;
  offset: string;
  receivedAt: number;
  payload: unknown;
  /** The record's value as it came, for sources that read it as text (enriched TSV). */
  value: string;
}

export interface ExpandedBatch {
  events: PipelineEvent[];
  badRows: KeyedBadRow[];
  topicPayloads: TopicPayload[];
  /** Events dropped because an earlier event of the batch had the same id. */
  duplicates: number;
  /** Event type names the batch's records named and `types` did not hold (their events are bad rows). */
  unknownTypes: string[];
}

/** Seed headers (`grnry-*`) so seed belts run unchanged, plus where the event came from. */
export function headersFor(e: Pick<PipelineEvent, 'eventId' | 'eventType' | 'correlationId' | 'created'>, topic: string, partition: number, offset: string): EventHeaders {
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

/** Longest event or correlation id kept: beyond it an id is no id but a payload (and breaks indexes). */
export const MAX_ID_LENGTH = 255;
/** Event times beltline stores: 1970-01-01 up to the end of year 9999 (month partitions are named by year). */
export const MIN_EVENT_TIME = 0;
export const MAX_EVENT_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Who an event is about and when it happened, from its type's expressions. */
export type Identity = Pick<PipelineEvent, 'eventId' | 'correlationId' | 'created'>;

/**
 * The identity of one event from its type's expressions; throws DefinitionError naming the
 * expression, also when what it found is out of bounds (an id too long, a time out of range), so
 * that one event's content becomes its bad row and never fails its batch.
 */
export function identify(type: EventType, payload: unknown, ctx: { seed: string; receivedAt: number }): Identity {
  const eventId = evaluateId(parseExpression(type.eventIdExpression, 'eventIdExpression'), payload, ctx, 'eventIdExpression');
  const correlationId = evaluateId(parseExpression(type.correlationIdExpression, 'correlationIdExpression'), payload, ctx, 'correlationIdExpression');
  const created = evaluateTimestamp(parseExpression(type.timestampExpression, 'timestampExpression'), payload, ctx, 'timestampExpression');
  for (const [field, id] of [['eventIdExpression', eventId], ['correlationIdExpression', correlationId]] as const) {
    if (id.length === 0 || id.length > MAX_ID_LENGTH) throw new DefinitionError(field, `the id is ${id.length} characters long; an id has 1 to ${MAX_ID_LENGTH}`);
  }
  if (!(created >= MIN_EVENT_TIME && created <= MAX_EVENT_TIME)) {
    throw new DefinitionError('timestampExpression', `the event time ${String(created)} is out of range (epoch ms from 1970-01-01 to 9999-12-31)`);
  }
  return { eventId, correlationId, created: Math.round(created) };
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

function adapterFailure(where: string, vendor: string, field: string, error: string, payload: unknown): KeyedBadRow {
  return { key: where, row: badRow('adapter_failures', { vendor, version: '1', messages: [{ field, error }] }, payload) };
}

/** Turns a batch's Kafka records into pipeline events and bad rows, with the project's event types. Pure. */
export function expandRecords(input: { topic: string; partition: number; records: readonly BatchRecord[] }, types: ReadonlyMap<string, EventType>, rawTopic: string): ExpandedBatch {
  const events: PipelineEvent[] = [];
  const badRows: KeyedBadRow[] = [];
  const topicPayloads: TopicPayload[] = [];
  const seen = new Set<string>();
  const unknownTypes = new Set<string>();
  let duplicates = 0;

  // Each event is built in one object literal of one shape: spreading the identity and then the
  // event into new objects took a tenth of the worker's time in expanding a batch.
  const add = (id: Identity, eventType: string, payload: unknown, offset: string, snowplow?: Pick<PipelineEvent, 'selfDescribing' | 'raw'>): void => {
    if (seen.has(id.eventId)) {
      duplicates++;
      return;
    }
    seen.add(id.eventId);
    const event: PipelineEvent = {
      eventId: id.eventId,
      eventType,
      correlationId: id.correlationId,
      created: id.created,
      headers: {},
      payload,
      selfDescribing: snowplow?.selfDescribing,
      raw: snowplow?.raw,
    };
    event.headers = headersFor(event, input.topic, input.partition, offset);
    events.push(event);
  };

  for (const { offset, value, timestamp } of input.records) {
    const where = `${input.topic}:${input.partition}:${offset}`;
    if (input.topic !== rawTopic) {
      // Not the collector's: a harvester reading this topic decides what it is.
      let payload: unknown = value;
      try {
        payload = JSON.parse(value);
      } catch {
        // a plain string payload is fine
      }
      topicPayloads.push({ key: where, offset, receivedAt: timestamp ?? Date.now(), payload, value });
      continue;
    }
    const record = parseRecord(value);
    if (typeof record === 'string') {
      badRows.push({
        key: where,
        row: badRow('collector_payload_format_violation', { loader: 'beltline', message: { error: record } }, value),
      });
      continue;
    }
    if (record.kind === 'json') {
      const type = types.get(record.eventType);
      record.events.forEach((payload, i) => {
        const key = `${where}:${i}`;
        if (!type) {
          unknownTypes.add(record.eventType);
          badRows.push(adapterFailure(key, 'beltline.json', 'eventType', `no event type ${JSON.stringify(record.eventType)}`, payload));
          return;
        }
        try {
          add(identify(type, payload, { seed: key, receivedAt: record.timestamp }), type.name, payload, offset);
        } catch (err) {
          if (!(err instanceof DefinitionError)) throw err;
          badRows.push(adapterFailure(key, 'beltline.json', err.field, err.message, { eventType: record.eventType, payload }));
        }
      });
      continue;
    }
    const snowplow = types.get(SNOWPLOW_EVENT_TYPE);
    record.events.forEach((params, i) => {
      try {
        const { sdk, selfDescribing } = enrichEvent(params, {
          collectorTstamp: record.timestamp,
          ipAddress: record.ipAddress,
          userAgent: record.userAgent,
          networkUserId: record.networkUserId,
          hostname: record.hostname,
          collector: record.collector,
        });
        if (!snowplow) {
          unknownTypes.add(SNOWPLOW_EVENT_TYPE);
          throw new EnrichmentError('eventType', `the built-in event type ${SNOWPLOW_EVENT_TYPE} is missing`);
        }
        add(identify(snowplow, sdk, { seed: `${where}:${i}`, receivedAt: record.timestamp }), SNOWPLOW_EVENT_TYPE, sdk, offset, {
          selfDescribing,
          raw: { vendor: 'com.snowplowanalytics.snowplow', version: 'tp2', parameters: params },
        });
      } catch (err) {
        if (err instanceof DefinitionError) err = new EnrichmentError(err.field, err.message);
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
  return { events, badRows, topicPayloads, duplicates, unknownTypes: [...unknownTypes] };
}
