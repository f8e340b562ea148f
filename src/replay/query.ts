import { DEFAULT_PROJECT } from '../projects/names';
import { SEARCH_ATTRIBUTE_EVENT_TYPES, SEARCH_ATTRIBUTE_PROJECT, SEARCH_ATTRIBUTE_SOURCE } from '../workflows/search-attributes';

export interface FailedBatchFilter {
  /** The task queue of the beltline deployment (BELTLINE_TASK_QUEUE): its batches only. */
  taskQueue: string;
  /** Batches started at or after this time (ISO-8601). */
  since?: string;
  /** Batches that ended (failed) at or after this time (ISO-8601). */
  closedSince?: string;
  /** Batches holding events of this type (`BeltlineEventTypes`). */
  eventType?: string;
  /** Batches read from this topic (`BeltlineSource`). */
  source?: string;
  /** One project's batches (`BeltlineProject`); every project's when absent. */
  project?: string;
}

/** A string literal of Temporal's visibility query language. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Parses a `--since`/`since` value: ISO-8601, or a duration back from now (`30m`, `2h`, `1d`). */
export function parseSince(value: string, now = Date.now()): string {
  const rel = /^(\d+)\s*(m|h|d)$/.exec(value.trim());
  if (rel) return new Date(now - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd']).toISOString();
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`not a time: ${value} (ISO-8601, or 30m / 2h / 1d back from now)`);
  return new Date(t).toISOString();
}

/**
 * The visibility query for failed batches — the same text works in `temporal workflow list
 * --query` and the Web UI's search box.
 */
export function failedBatchesQuery(f: FailedBatchFilter): string {
  const parts = [`WorkflowType = 'ingestBatch'`, `ExecutionStatus = 'Failed'`, `TaskQueue = ${quote(f.taskQueue)}`];
  if (f.since) parts.push(`StartTime >= ${quote(f.since)}`);
  if (f.closedSince) parts.push(`CloseTime >= ${quote(f.closedSince)}`);
  if (f.eventType) parts.push(`${SEARCH_ATTRIBUTE_EVENT_TYPES} = ${quote(f.eventType)}`);
  if (f.source) parts.push(`${SEARCH_ATTRIBUTE_SOURCE} = ${quote(f.source)}`);
  if (f.project) {
    const own = `${SEARCH_ATTRIBUTE_PROJECT} = ${quote(f.project)}`;
    // Batches started before projects carry no project: they are the default project's.
    parts.push(f.project === DEFAULT_PROJECT ? `(${own} OR ${SEARCH_ATTRIBUTE_PROJECT} IS NULL)` : own);
  }
  return parts.join(' AND ');
}
