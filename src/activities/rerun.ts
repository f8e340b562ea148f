import { ApplicationFailure } from '@temporalio/common';
import { beltTaskQueue } from '../belts/definition';
import type { BeltTask } from './process-batch';
import { getBelt } from '../belts/registry';
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
      const taskQueue = head.definition.scale === undefined ? cfg.BELTLINE_TASK_QUEUE : beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, name);
      return { name, version: head.version, taskQueue, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS };
    },

    /** How many events a retry or backfill will go through (for progress). */
    async rerunCount(belt: string, mode: 'retry' | 'backfill', since?: string): Promise<number> {
      if (mode === 'retry') {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM belt_outputs WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2)',
          [belt, since ?? null],
        );
        return rows[0].n;
      }
      const head = await getBelt(pool, belt);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events e WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)`,
        [belt, head?.definition.eventTypes ?? [], since ?? null],
      );
      return rows[0].n;
    },

    /** The next page of events to rerun: failed ones (retry) or never-run ones (backfill). */
    async rerunPage(belt: string, mode: 'retry' | 'backfill', since: string | undefined, after: string | undefined): Promise<{ eventIds: string[]; next: string | null }> {
      const [afterAt, afterId] = rerunCursor(mode, after);
      if (mode === 'retry') {
        const { rows } = await pool.query<{ event_id: string }>(
          `SELECT event_id FROM belt_outputs
            WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::text IS NULL OR event_id > $3)
            ORDER BY event_id LIMIT $4`,
          [belt, since ?? null, afterId, RERUN_PAGE],
        );
        const ids = rows.map((r) => r.event_id);
        return { eventIds: ids, next: ids.length === RERUN_PAGE ? ids[ids.length - 1] : null };
      }
      const head = await getBelt(pool, belt);
      const { rows } = await pool.query<{ event_id: string; created: Date }>(
        `SELECT e.event_id, e.created_at AS created FROM events e
          WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
            AND ($4::timestamptz IS NULL OR (e.created_at, e.event_id) > ($4, $5))
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)
          ORDER BY e.created_at, e.event_id LIMIT $6`,
        [belt, head?.definition.eventTypes ?? [], since ?? null, afterAt, afterId, RERUN_PAGE],
      );
      const last = rows[rows.length - 1];
      return {
        eventIds: rows.map((r) => r.event_id),
        next: rows.length === RERUN_PAGE && last ? JSON.stringify([last.created.toISOString(), last.event_id]) : null,
      };
    },

  };
}

const RERUN_PAGE = 500;

/** Keyset cursor of a rerun page: (event time, event id) for backfill, event id for retry. */
function rerunCursor(mode: 'retry' | 'backfill', after: string | undefined): [string | null, string | null] {
  if (!after) return [null, null];
  if (mode === 'retry') return [null, after];
  const [at, id] = JSON.parse(after) as [string, string];
  return [at, id];
}
