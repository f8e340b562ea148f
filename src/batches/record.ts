import type { BatchRef } from './staging';
import type { TrackerParams } from '../snowplow/tp2';
import { projectScoped } from '../projects/names';

/**
 * What the collector writes to Kafka `raw`: one record per accepted request, like Snowplow's
 * CollectorPayload, so a request is stored whole or not at all. Parsing into events happens
 * later, in the batch workflow, where a bad event becomes a bad row instead of a lost request.
 */
export interface SnowplowRecord {
  kind: 'snowplow';
  /** Collector name and version, e.g. `beltline-0.1.0`. */
  collector: string;
  /** Epoch ms the collector received the request. */
  timestamp: number;
  path: string;
  ipAddress?: string;
  userAgent?: string;
  networkUserId?: string;
  hostname?: string;
  /** Tracker-protocol parameters, one object per event. */
  events: TrackerParams[];
}

/** Plain JSON events of one event type; their ids come from the type's expressions, later. */
export interface JsonRecord {
  kind: 'json';
  collector: string;
  timestamp: number;
  eventType: string;
  ipAddress?: string;
  userAgent?: string;
  events: unknown[];
}

export type RawRecord = SnowplowRecord | JsonRecord;

/** A Kafka record as the bridge hands it to a batch workflow. */
export interface BatchRecord {
  offset: string;
  /** The record's value: on `raw`, the JSON of a RawRecord; on harvested topics, anything. */
  value: string;
  /** Kafka's timestamp of the record, epoch ms. */
  timestamp?: number;
}

/**
 * What a batch workflow is given: a claim check. The records themselves are staged in PostgreSQL
 * (`staged_batches`, see src/batches/staging.ts), so Temporal's history holds no event and no PII,
 * and a failed batch can be replayed after Kafka's retention has dropped its records.
 */
export interface IngestBatchInput extends BatchRef {
  /** How many Kafka records the batch holds. */
  recordCount?: number;
  /** Records carried in the input itself: batches started before the claim check, still replayable. */
  records?: BatchRecord[];
  /**
   * The retry policy of the batch's activities, from the starter's configuration (a workflow
   * cannot read the environment); absent in batches started before it existed: the defaults.
   */
  retry?: BatchRetry;
  /** The project whose batch it is (its schema holds the staged records); absent before projects: default. */
  project?: string;
}

/** Which events a step works on: those a batch stored, or listed ids (belt retries and backfills). */
export type EventSelector = { batchId: string } | { eventIds: string[] };

/** A selector, from event ids as workflow histories of older versions pass them, or a selector. */
export function toSelector(sel: EventSelector | string[]): EventSelector {
  return Array.isArray(sel) ? { eventIds: sel } : sel;
}

export interface BatchRetry {
  maximumAttempts: number;
  maximumIntervalMs: number;
  /** Start-to-close timeout of each step, when set (BELTLINE_ACTIVITY_TIMEOUT). */
  timeoutMs?: number;
}

/** The retry policy the starter's configuration asks for; workflows cannot read it themselves. */
export function batchRetry(cfg: { BELTLINE_ACTIVITY_MAX_ATTEMPTS: number; BELTLINE_ACTIVITY_MAX_INTERVAL: number; BELTLINE_ACTIVITY_TIMEOUT?: number }): BatchRetry {
  return {
    maximumAttempts: cfg.BELTLINE_ACTIVITY_MAX_ATTEMPTS,
    maximumIntervalMs: cfg.BELTLINE_ACTIVITY_MAX_INTERVAL,
    ...(cfg.BELTLINE_ACTIVITY_TIMEOUT ? { timeoutMs: cfg.BELTLINE_ACTIVITY_TIMEOUT } : {}),
  };
}

/**
 * Deterministic: the same records always start the same workflow, whoever starts it. A topic two
 * projects harvest gives each its own workflow (`@<project>`); the default project's ids are
 * those of batches started before projects existed.
 */
export function batchWorkflowId(topic: string, partition: number, firstOffset: string, lastOffset: string, project?: string): string {
  return projectScoped(`ingest-${topic}-p${partition}-o${firstOffset}-${lastOffset}`, project);
}
