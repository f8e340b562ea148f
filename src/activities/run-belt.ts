import type { EventHeaders } from '../ingest/events';
import { insertBeltOutputs, selectorWhere } from '../belts/outputs-store';
import { loadBelt } from '../belts/registry';
import type { BeltRef } from '../belts/definition';
import { toSelector, type EventSelector } from '../ingest/record';
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
      const keep = opts.retryFailed ? 'AND o.error IS NULL' : '';
      const { where, value } = selectorWhere(toSelector(events), 1);
      const { rows } = await pool.query<{ event_id: string; correlation_id: string; headers: EventHeaders; payload: unknown }>(
        `SELECT e.event_id, e.correlation_id, e.headers, e.payload FROM events e
          WHERE ${where} AND e.event_type = ANY($2::text[])
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $3 ${keep})
          ORDER BY e.created_at, e.event_id`,
        [value, def.eventTypes, belt.name],
      );
      if (rows.length === 0) return { ran: 0, errors: 0 };
      const profiles = await getDocuments(pool, rows.map((r) => r.correlation_id));
      const outcomes = await deps.belts.run(
        belt,
        def,
        rows.map((r) => ({ eventId: r.event_id, correlationId: r.correlation_id, headers: r.headers, payload: r.payload })),
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
