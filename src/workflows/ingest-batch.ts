import { isCancellation, proxyActivities, proxySinks, upsertSearchAttributes, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchRetry, IngestBatchInput } from '../ingest/record';
import { runActions, type ActionsResult } from './actions';
import { ensureReapers } from './reaper';
import { BELTS, EVENT_COUNT, EVENT_TYPES } from './search-attributes';
import type { BatchSinks } from './sinks';

// Retries ride out a restarting PostgreSQL or a redeploy; after that the batch fails with its
// input kept in Temporal, where an operator can find and replay it (`beltline replay`). The
// policy comes with the input (BELTLINE_ACTIVITY_MAX_ATTEMPTS / _MAX_INTERVAL of the starter).
const DEFAULT_RETRY: BatchRetry = { maximumAttempts: 40, maximumIntervalMs: 30_000 };

function retryPolicy(r: BatchRetry = DEFAULT_RETRY): RetryPolicy {
  return { initialInterval: Math.min(1000, r.maximumIntervalMs), backoffCoefficient: 2, maximumInterval: r.maximumIntervalMs, maximumAttempts: r.maximumAttempts };
}

const { batches } = proxySinks<BatchSinks>();

export interface IngestBatchResult {
  events: number;
  duplicates: number;
  badRows: number;
  beltRuns: { belt: string; version: string; ran: number; errors: number }[];
  applied: number;
  profiles: number;
  /** Webhooks the belts' actions sent, and those recorded as failed (action_runs). */
  actions?: ActionsResult;
}

/** One batch of `raw` records: store, run the subscribed belts, apply their profile updates. */
export async function ingestBatch(input: IngestBatchInput): Promise<IngestBatchResult> {
  try {
    const result = await runIngestBatch(input);
    batches.completed({ events: result.events, badRows: result.badRows, applied: result.applied });
    return result;
  } catch (err) {
    if (!isCancellation(err)) batches.failed(failureReason(err));
    throw err;
  }
}

/** The innermost cause's message: an activity failure says only "Activity task failed". */
function failureReason(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

async function runIngestBatch(input: IngestBatchInput): Promise<IngestBatchResult> {
  const retry = retryPolicy(input.retry);
  const { prepareBatch, applyBatch } = proxyActivities<Activities>({ startToCloseTimeout: input.retry?.timeoutMs ?? '2 minutes', retry });
  const prepared = await prepareBatch(input);
  upsertSearchAttributes([
    { key: EVENT_TYPES, value: prepared.eventTypes },
    { key: EVENT_COUNT, value: prepared.eventIds.length },
    { key: BELTS, value: prepared.belts.map((b) => b.name) },
  ]);

  // Each belt's activity runs on that belt's own task queue: its workers are its scale.
  const beltRuns = await Promise.all(
    prepared.belts.map(async (b) => {
      const { runBelt } = proxyActivities<Activities>({ taskQueue: b.taskQueue, startToCloseTimeout: input.retry?.timeoutMs ?? '5 minutes', retry });
      const run = await runBelt({ name: b.name, version: b.version }, prepared.eventIds);
      return { belt: b.name, version: b.version, ...run };
    }),
  );

  const { applied, profiles, buckets } = await applyBatch(prepared.eventIds);
  await ensureReapers(buckets, prepared.bucketMs);
  const actions = await runActions(prepared.eventIds);
  return { events: prepared.eventIds.length, duplicates: prepared.duplicates, badRows: prepared.badRows, beltRuns, applied, profiles, actions };
}
