import { ApplicationFailure } from '@temporalio/common';
import { beltTaskQueue } from '../belts/definition';
import type { BeltTask } from './process-batch';
import { getBelt } from '../belts/registry';
import { countFailedOutputs, countUnrunEvents, failedOutputsPage, unrunEventsPage, type RerunPage } from '../belts/rerun-store';
import type { ActivityDeps } from './deps';

export interface RerunBelt extends BeltTask {
  /** The expiry bucket width in force, for the reapers the run may need. */
  bucketMs: number;
}

/** The activities of belt retries and backfills (workflow beltRerun): which events, a page at a time. */
export function createRerunActivities(deps: ActivityDeps) {
  const { pool, cfg } = deps;
  return {
    /**
     * The head version of a belt and the task queue its runs go to: its own when it has a scale,
     * else the main queue, whose workers run belts inside batches.
     */
    async beltHead(name: string): Promise<RerunBelt> {
      const head = await getBelt(pool, name);
      if (!head) throw ApplicationFailure.nonRetryable(`no belt named ${name}`, 'UnknownBelt');
      const taskQueue = head.definition.scale === undefined ? cfg.BELTLINE_TASK_QUEUE : beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, name, deps.project);
      return { name, version: head.version, taskQueue, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS };
    },

    /** How many events a retry or backfill will go through (for progress). */
    async rerunCount(belt: string, mode: 'retry' | 'backfill', since?: string): Promise<number> {
      if (mode === 'retry') return countFailedOutputs(pool, belt, since);
      const head = await getBelt(pool, belt);
      return countUnrunEvents(pool, belt, head?.definition.eventTypes ?? [], since);
    },

    /** The next page of events to rerun: failed ones (retry) or never-run ones (backfill). */
    async rerunPage(belt: string, mode: 'retry' | 'backfill', since: string | undefined, after: string | undefined): Promise<RerunPage> {
      if (mode === 'retry') return failedOutputsPage(pool, belt, since, after);
      const head = await getBelt(pool, belt);
      return unrunEventsPage(pool, belt, head?.definition.eventTypes ?? [], since, after);
    },
  };
}
