import { continueAsNew, defineQuery, proxyActivities, setHandler, upsertSearchAttributes, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { runActions } from './actions';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from './liveness';
import { ensureReapers } from './reaper';
import { EVENT_COUNT } from './search-attributes';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 40 };
const { beltHead, rerunCount, rerunPage, applyBatch } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT, retry });

export interface BeltRerunInput {
  belt: string;
  /** retry: the events the belt failed on; backfill: stored events of its input types it never ran on. */
  mode: 'retry' | 'backfill';
  /** The belt's project; absent in reruns started before projects: the default project. */
  project?: string;
  /** ISO-8601: only events (backfill: by event time; retry: by failure time) from then on. */
  since?: string;
  /** Carried across continue-as-new. */
  after?: string;
  done?: number;
  errors?: number;
  total?: number;
}

export interface RerunProgress {
  done: number;
  total: number;
  errors: number;
  finished: boolean;
}

export const progressQuery = defineQuery<RerunProgress>('progress');

const PAGES_PER_RUN = 40;

/** Runs a belt's current version over past events, a page at a time, and applies the results. */
export async function beltRerun(input: BeltRerunInput): Promise<RerunProgress> {
  const head = await beltHead(input.belt, input.project);
  const progress: RerunProgress = {
    done: input.done ?? 0,
    errors: input.errors ?? 0,
    total: input.total ?? (await rerunCount(input.belt, input.mode, input.since, input.project)),
    finished: false,
  };
  setHandler(progressQuery, () => progress);
  const { runBelt } = proxyActivities<Activities>({ taskQueue: head.taskQueue, startToCloseTimeout: '5 minutes', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT, retry });

  let after = input.after;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const { eventIds, next } = await rerunPage(input.belt, input.mode, input.since, after, input.project);
    if (eventIds.length > 0) {
      const run = await runBelt({ name: head.name, version: head.version }, { eventIds }, { retryFailed: input.mode === 'retry' }, input.project);
      const { buckets } = await applyBatch({ eventIds }, input.project);
      await ensureReapers(buckets, head.bucketMs, input.project);
      await runActions({ eventIds }, input.project);
      progress.done += eventIds.length;
      progress.errors += run.errors;
      upsertSearchAttributes([{ key: EVENT_COUNT, value: progress.done }]);
    }
    if (next === null) {
      progress.finished = true;
      return progress;
    }
    after = next;
  }
  // Keeps each run's history short however many events there are.
  return continueAsNew<typeof beltRerun>({ ...input, after, done: progress.done, errors: progress.errors, total: progress.total });
}
