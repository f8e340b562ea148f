import type { Pool } from 'pg';
import type { EventHeaders } from '../events/expand';
import type { EventSelector } from '../batches/record';
import { selectorWhere } from './outputs-store';

/** An event a belt is to run on, as the sandbox takes it. */
export interface EventToRun {
  eventId: string;
  correlationId: string;
  headers: EventHeaders;
  payload: unknown;
}

/**
 * The selected events of the belt's input types it has no output for yet (or, with `retryFailed`,
 * only a failed one), in event order.
 */
export async function eventsToRun(pool: Pool, belt: string, eventTypes: readonly string[], sel: EventSelector, opts: { retryFailed?: boolean } = {}): Promise<EventToRun[]> {
  const keep = opts.retryFailed ? 'AND o.error IS NULL' : '';
  const { where, value } = selectorWhere(sel, 1);
  const { rows } = await pool.query<{ event_id: string; correlation_id: string; headers: EventHeaders; payload: unknown }>(
    `SELECT e.event_id, e.correlation_id, e.headers, e.payload FROM events e
      WHERE ${where} AND e.event_type = ANY($2::text[])
        AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $3 ${keep})
      ORDER BY e.created_at, e.event_id`,
    [value, eventTypes, belt],
  );
  return rows.map((r) => ({ eventId: r.event_id, correlationId: r.correlation_id, headers: r.headers, payload: r.payload }));
}

export const RERUN_PAGE = 500;

/** How many outputs of the belt failed (since a time): what a retry goes through. */
export async function countFailedOutputs(pool: Pool, belt: string, since: string | undefined): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM belt_outputs WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2)',
    [belt, since ?? null],
  );
  return rows[0].n;
}

/** How many stored events of the belt's input types it never ran on: what a backfill goes through. */
export async function countUnrunEvents(pool: Pool, belt: string, eventTypes: readonly string[], since: string | undefined): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events e WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
        AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)`,
    [belt, eventTypes, since ?? null],
  );
  return rows[0].n;
}

export interface RerunPage {
  eventIds: string[];
  /** The cursor of the next page, or null after the last. */
  next: string | null;
}

/** A page of failed outputs' events, keyed by event id. */
export async function failedOutputsPage(pool: Pool, belt: string, since: string | undefined, after: string | undefined): Promise<RerunPage> {
  const { rows } = await pool.query<{ event_id: string }>(
    `SELECT event_id FROM belt_outputs
      WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::text IS NULL OR event_id > $3)
      ORDER BY event_id LIMIT $4`,
    [belt, since ?? null, after ?? null, RERUN_PAGE],
  );
  const ids = rows.map((r) => r.event_id);
  return { eventIds: ids, next: ids.length === RERUN_PAGE ? ids[ids.length - 1] : null };
}

/** A page of never-run events, keyed by (event time, event id): the cursor is that pair in JSON. */
export async function unrunEventsPage(pool: Pool, belt: string, eventTypes: readonly string[], since: string | undefined, after: string | undefined): Promise<RerunPage> {
  const [afterAt, afterId] = after ? (JSON.parse(after) as [string, string]) : [null, null];
  const { rows } = await pool.query<{ event_id: string; created: Date }>(
    `SELECT e.event_id, e.created_at AS created FROM events e
      WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
        AND ($4::timestamptz IS NULL OR (e.created_at, e.event_id) > ($4, $5))
        AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)
      ORDER BY e.created_at, e.event_id LIMIT $6`,
    [belt, eventTypes, since ?? null, afterAt, afterId, RERUN_PAGE],
  );
  const last = rows[rows.length - 1];
  return {
    eventIds: rows.map((r) => r.event_id),
    next: rows.length === RERUN_PAGE && last ? JSON.stringify([last.created.toISOString(), last.event_id]) : null,
  };
}
