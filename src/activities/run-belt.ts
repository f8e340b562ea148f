import { insertBeltOutputs } from '../belts/outputs-store';
import { eventsToRun } from '../belts/rerun-store';
import { loadBelt } from '../belts/registry';
import type { BeltRef } from '../belts/definition';
import { toSelector, type EventSelector } from '../batches/record';
import { beltErrors } from '../metrics';
import { getDocuments } from '../profiles/store';
import { liveSegmentLookup, workflowId, type ActivityDeps } from './deps';

// A test kills the belt's worker (-9) in the middle of a run: the belt ran, its outputs are not stored.
const crashInRun = process.env.BELTLINE_FAULT === 'belt-worker-crash-in-run';

export interface BeltRun {
  ran: number;
  errors: number;
}

export function createRunBelt(deps: ActivityDeps) {
  const { pool } = deps;
  return {
    /**
     * Runs one belt version over the selected events of its input types and keeps each event's
     * outputs or error, unapplied (applyBatch applies them). Events it already ran for keep their
     * first result; `retryFailed` replaces failed ones.
     */
    async runBelt(belt: BeltRef, events: EventSelector | string[], opts: { retryFailed?: boolean } = {}): Promise<BeltRun> {
      const def = await loadBelt(pool, belt);
      const rows = await eventsToRun(pool, belt.name, def.eventTypes, toSelector(events), opts);
      if (rows.length === 0) return { ran: 0, errors: 0 };
      const profiles = await getDocuments(pool, rows.map((r) => r.correlationId));
      const outcomes = await deps.belts.run(
        belt,
        def,
        rows,
        profiles,
        await liveSegmentLookup(deps),
        { workflowId: workflowId() },
      );
      if (crashInRun) process.kill(process.pid, 'SIGKILL');
      await insertBeltOutputs(pool, belt, outcomes, { retryFailed: opts.retryFailed });
      const failed = outcomes.filter((o) => o.error !== null).length;
      if (failed > 0) beltErrors.inc({ belt: belt.name }, failed);
      return { ran: outcomes.length, errors: failed };
    },
  };
}
