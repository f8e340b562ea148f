import { isCancellation, proxyActivities, proxyLocalActivities, proxySinks, upsertSearchAttributes, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { BatchRetry, IngestBatchInput } from '../batches/record';
import { runActions, type ActionsResult } from './actions';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from './liveness';
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
  const timeout = input.retry?.timeoutMs ?? '2 minutes';
  // The in-process steps are local activities: no task-queue round trip, and their results are
  // markers in this workflow's task. A worker that dies mid-step loses the workflow task, which
  // another worker picks up after the task timeout (seconds), running the step again.
  const { processBatch, applyBatch } = proxyLocalActivities<Activities>({ startToCloseTimeout: timeout, retry });
  const done = await processBatch(input);
  upsertSearchAttributes([
    { key: EVENT_TYPES, value: done.eventTypes },
    { key: EVENT_COUNT, value: done.events },
    { key: BELTS, value: [...done.beltRuns.map((b) => b.belt), ...done.queuedBelts.map((b) => b.name)].sort() },
  ]);
  const batch = { batchId: done.batchId };
  const beltRuns = [...done.beltRuns];
  let { applied, profiles, buckets } = done;

  // A belt with a scale of its own runs on its own task queue: its workers are its scale. A run
  // whose worker died is retried elsewhere once its heartbeats stop, not after start-to-close.
  if (done.queuedBelts.length > 0) {
    const runs = await Promise.all(
      done.queuedBelts.map(async (b) => {
        const { runBelt } = proxyActivities<Activities>({
          taskQueue: b.taskQueue,
          startToCloseTimeout: input.retry?.timeoutMs ?? '5 minutes',
          heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
          retry,
        });
        return { belt: b.name, version: b.version, ...(await runBelt({ name: b.name, version: b.version }, batch, {}, input.project)) };
      }),
    );
    beltRuns.push(...runs);
    const more = await applyBatch(batch, input.project);
    applied += more.applied;
    profiles += more.profiles;
    buckets = [...new Set([...buckets, ...more.buckets])];
  }
  await ensureReapers(buckets, done.bucketMs, input.project);
  const actions = done.actions || done.queuedBelts.length > 0 ? await runActions(batch, input.project) : { sent: 0, failed: 0 };
  return { events: done.events, duplicates: done.duplicates, badRows: done.badRows, beltRuns, applied, profiles, actions };
}
