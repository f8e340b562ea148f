import { SNOWPLOW_EVENT_TYPE, type PipelineEvent } from '../events/expand';
import type { OutgoingMessage, ResilientProducer } from '../kafka/producer';
import { logger } from '../log';
import { selfDescribingParts, toEnrichedTsv } from './enriched-tsv';

const log = logger('enriched');

/**
 * Snowplow interop out: the good Snowplow events of a batch that are new to the store. Only events
 * of the built-in `snowplow` type: other types' payloads are not Snowplow events, and events a
 * harvester read from a Snowplow pipeline's own enriched topic are already there.
 */
function snowplowEvents(events: readonly PipelineEvent[], fresh: ReadonlySet<string>): PipelineEvent[] {
  return events.filter((e) => e.eventType === SNOWPLOW_EVENT_TYPE && fresh.has(e.eventId));
}

/**
 * The enriched topic's records: each event's Analytics SDK JSON (what seed 003's processor writes
 * to `snowplow_json_event`), keyed by the event's correlation id: for tracker events the user
 * (`#snowplowUser()`), as the raw topic is keyed, so one user's events share a partition. Pure.
 */
export function enrichedRecords(events: readonly PipelineEvent[], fresh: ReadonlySet<string>): OutgoingMessage[] {
  return snowplowEvents(events, fresh).map((e) => ({ key: e.correlationId, value: JSON.stringify(e.payload) }));
}

/**
 * The same events as enriched TSV lines, keyed alike, for Snowplow's loaders. The contexts and the
 * self-describing event are written from the JSON the tracker sent (the SDK JSON keeps only their
 * schemas' models). An event that cannot be written is left out with a warning: the TSV topic is
 * a copy, and must not fail the batch that stores the event. Pure but for that warning.
 */
export function enrichedTsvRecords(events: readonly PipelineEvent[], fresh: ReadonlySet<string>): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  for (const e of snowplowEvents(events, fresh)) {
    try {
      out.push({ key: e.correlationId, value: toEnrichedTsv(e.payload as Record<string, unknown>, selfDescribingParts(e.selfDescribing ?? [])) });
    } catch (err) {
      log.warn({ eventId: e.eventId, err }, 'an event could not be written as enriched TSV');
    }
  }
  return out;
}

/**
 * Sends records to an enriched topic; resolves once Kafka acknowledged every one (acks = all). The
 * topic is made when missing, with the raw topic's partitions: the broker makes none on write, and
 * a deployment from before this topic existed must not fail its batches for want of it. An event
 * too large for a Kafka record (its stored copy is whole) is left out with a warning rather than
 * failing its batch forever.
 */
export async function publishEnriched(producer: ResilientProducer, topic: string, partitions: number, records: readonly OutgoingMessage[]): Promise<void> {
  if (records.length === 0) return;
  await producer.ensureTopic(topic, partitions);
  await producer.send(topic, records, {
    oversized: (_m, err) => {
      log.warn({ topic, bytes: err.bytes, limit: err.limit }, 'an event too large for a Kafka record is not on the enriched topic');
      return null;
    },
  });
}
