import { withTransaction } from '../db/pool';
import { applyOutputs, faultPoint } from '../batches/apply';
import { lockPendingOutputs, markOutputsApplied } from '../belts/outputs-store';
import { toSelector, type EventSelector } from '../batches/record';
import { logger } from '../log';
import { applyLatency, beltErrors, updatesApplied } from '../metrics';
import { workflowId, type ActivityDeps } from './deps';

const log = logger('activities');

export interface AppliedBatch {
  applied: number;
  profiles: number;
  /** Expiry buckets that gained entries: the workflow makes sure each has its reaper. */
  buckets: number[];
}

export function createApplyBatch(deps: ActivityDeps) {
  const { pool, cfg } = deps;
  return {
    /**
     * Applies every not-yet-applied belt output of these events in one transaction and marks it
     * applied, so a re-run (or a concurrent batch holding the same events) applies nothing twice.
     */
    async applyBatch(events: EventSelector | string[]): Promise<AppliedBatch> {
      const timer = applyLatency.startTimer();
      const result = await withTransaction(pool, async (client) => {
        const rows = await lockPendingOutputs(client, toSelector(events));
        if (rows.length === 0) return { applied: 0, profiles: 0, buckets: [], refused: new Map(), outbox: null, written: null };
        const applied = await applyOutputs(client, rows, { project: deps.project, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS, producer: deps.producer, cache: deps.profiles });
        await markOutputsApplied(client, rows, applied.refused);
        faultPoint('before-commit', 'applyBatch', applied.applied);
        return applied;
      });
      faultPoint('after-commit', 'applyBatch', result.applied);
      deps.profiles.remember(result.written);
      timer();
      updatesApplied.inc(result.applied);
      for (const [belt, refused] of result.refused) beltErrors.inc({ belt }, refused.size);
      if (result.outbox !== null) {
        log.debug({ workflowId: workflowId(), applied: result.applied, profiles: result.profiles }, 'updates applied');
        deps.changes.publish(result.outbox);
      }
      return { applied: result.applied, profiles: result.profiles, buckets: result.buckets };
    },
  };
}
