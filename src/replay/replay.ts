import { WorkflowFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { BatchRetry, IngestBatchInput } from '../batches/record';
import { logger } from '../log';
import { DEFAULT_PROJECT } from '../projects/names';
import { EVENT_COUNT, EVENT_TYPES, PROJECT, SOURCE } from '../workflows/search-attributes';
import { failedBatchesQuery, type FailedBatchFilter } from './query';

const log = logger('replay');

export interface FailedBatch {
  workflowId: string;
  runId: string;
  taskQueue: string;
  startTime: string;
  closeTime?: string;
  source?: string;
  /** The project whose batch it is (batches from before projects: default). */
  project: string;
  eventTypes: string[];
  eventCount?: number;
  /** The innermost failure's message (e.g. the database error the last attempt met). */
  reason: string;
  /** How many earlier runs of this batch failed too (replays that failed again). */
  previousRuns: number;
}

/** The innermost cause's message. */
function innermost(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  const msg = e instanceof Error ? e.message : String(e);
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg;
}

async function failureReason(client: Client, workflowId: string, runId: string): Promise<string> {
  try {
    await client.workflow.getHandle(workflowId, runId, { followRuns: false }).result();
    return '';
  } catch (err) {
    return innermost(err instanceof WorkflowFailedError ? (err.cause ?? err) : err);
  }
}

/**
 * Failed batches: `ingestBatch` runs that failed (visibility query) and are still the latest run
 * of their workflow id — a batch replayed since (running, completed, or failed again as a newer
 * run) shows only through its newest run. Oldest first.
 */
export async function listFailedBatches(client: Client, filter: FailedBatchFilter, limit = 1000): Promise<FailedBatch[]> {
  const runs = new Map<string, { runs: number; latestFailed?: FailedBatch }>();
  for await (const wf of client.workflow.list({ query: failedBatchesQuery(filter) })) {
    const entry = runs.get(wf.workflowId) ?? { runs: 0 };
    entry.runs++;
    runs.set(wf.workflowId, entry);
    if (entry.latestFailed && entry.latestFailed.startTime >= wf.startTime.toISOString()) continue;
    entry.latestFailed = {
      workflowId: wf.workflowId,
      runId: wf.runId,
      taskQueue: wf.taskQueue,
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime?.toISOString(),
      source: wf.typedSearchAttributes.get(SOURCE),
      project: wf.typedSearchAttributes.get(PROJECT) ?? DEFAULT_PROJECT,
      eventTypes: wf.typedSearchAttributes.get(EVENT_TYPES) ?? [],
      eventCount: wf.typedSearchAttributes.get(EVENT_COUNT),
      reason: '',
      previousRuns: 0,
    };
  }
  const out: FailedBatch[] = [];
  for (const [workflowId, entry] of runs) {
    const b = entry.latestFailed as FailedBatch;
    const latest = await client.workflow.getHandle(workflowId).describe();
    if (latest.runId !== b.runId) continue;
    b.previousRuns = entry.runs - 1;
    b.reason = await failureReason(client, workflowId, b.runId);
    out.push(b);
    if (out.length >= limit) break;
  }
  return out.sort((a, b) => a.startTime.localeCompare(b.startTime) || a.workflowId.localeCompare(b.workflowId));
}

/** A replay asked for through one project named a batch of another: to that project, no such batch. */
export class BatchNotInProjectError extends Error {
  constructor(workflowId: string, project: string) {
    super(`no batch ${JSON.stringify(workflowId)} in project ${JSON.stringify(project)}`);
    this.name = 'BatchNotInProjectError';
  }
}

export type ReplayOutcome =
  /** A new run was started (same workflow id, a new run id). */
  | { outcome: 'started'; workflowId: string; runId: string; replayOf: string }
  /** Nothing to do: the batch's latest run completed, or one is running (e.g. a replay already started). */
  | { outcome: 'completed' | 'running'; workflowId: string; runId: string };

/**
 * Starts a failed batch again: the same input (read from the failed run's history), the same
 * workflow id (a new run of it, with the id-reuse policy "allow duplicate failed only", so a batch
 * that completed can never run twice), on the task queue it ran on, under `retry` — the replaying
 * process's policy. Nothing is applied twice either way: events, belt outputs and applied flags
 * are idempotent per (event, belt). With `project`, a batch of another project is refused.
 */
export async function replayBatch(client: Client, workflowId: string, retry: BatchRetry, project?: string): Promise<ReplayOutcome> {
  const desc = await client.workflow.getHandle(workflowId).describe();
  if (desc.type !== 'ingestBatch') throw new Error(`${workflowId} is a ${desc.type} workflow, not a batch (ingestBatch)`);
  if (project !== undefined && (desc.typedSearchAttributes.get(PROJECT) ?? DEFAULT_PROJECT) !== project) throw new BatchNotInProjectError(workflowId, project);
  if (desc.status.name === 'RUNNING' || desc.status.name === 'COMPLETED') {
    return { outcome: desc.status.name === 'RUNNING' ? 'running' : 'completed', workflowId, runId: desc.runId };
  }
  const history = await client.workflow.getHandle(workflowId, desc.runId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`${workflowId}: its history has no start event`);
  const input = fromPayloadsAtIndex<IngestBatchInput>(defaultPayloadConverter, 0, started.input?.payloads);
  const source = desc.typedSearchAttributes.get(SOURCE) ?? input.topic;
  try {
    const handle = await client.workflow.start('ingestBatch', {
      taskQueue: desc.taskQueue,
      workflowId,
      args: [{ ...input, retry }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: SOURCE, value: source },
        { key: EVENT_TYPES, value: desc.typedSearchAttributes.get(EVENT_TYPES) ?? [] },
        // A batch from before projects is the default project's.
        { key: PROJECT, value: input.project ?? desc.typedSearchAttributes.get(PROJECT) ?? DEFAULT_PROJECT },
      ],
      memo: { replayOf: desc.runId },
    });
    log.info({ workflowId, runId: handle.firstExecutionRunId, replayOf: desc.runId }, 'batch replayed');
    return { outcome: 'started', workflowId, runId: handle.firstExecutionRunId, replayOf: desc.runId };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    // Someone replayed it between our describe and start: report what runs now.
    const now = await client.workflow.getHandle(workflowId).describe();
    return { outcome: now.status.name === 'RUNNING' ? 'running' : 'completed', workflowId, runId: now.runId };
  }
}

/** Waits for a run to end: true when it completed, false when it failed (with the reason). */
export async function waitForRun(client: Client, workflowId: string, runId: string): Promise<{ ok: boolean; reason?: string }> {
  try {
    await client.workflow.getHandle(workflowId, runId, { followRuns: false }).result();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: innermost(err instanceof WorkflowFailedError ? (err.cause ?? err) : err) };
  }
}
