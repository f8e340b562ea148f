import type { Pool } from 'pg';
import type { ActionRow, BatchMinuteRow, BeltMinuteRow, MinuteRow } from './series';

/**
 * The window's figures from a project's tables. Everything starts from the batches staged since
 * `since` (staged_batches, kept BELTLINE_STAGED_RETENTION) and reaches events, belt outputs and
 * action runs through their indexes on batch and event id: no scan of the event store, and the
 * same answer whichever process (or how many) ran the batches.
 */
export interface WindowRows {
  batches: BatchMinuteRow[];
  notDone: number;
  sources: MinuteRow[];
  eventTypes: MinuteRow[];
  belts: BeltMinuteRow[];
  actions: ActionRow[];
}

// Events of a batch staged just before the window may be stored inside it.
const RECENT = `SELECT batch_id FROM staged_batches WHERE staged_at >= $1::timestamptz - interval '1 minute'`;

export async function windowRows(db: Pool, since: Date): Promise<WindowRows> {
  const [batches, notDone, eventTypes, belts, actions] = await Promise.all([
    db.query<{ minute: Date; topic: string; batches: number; records: number; done: number; latency_ms: number | null }>(
      `SELECT date_trunc('minute', staged_at) AS minute, topic, count(*)::int AS batches, sum(record_count)::int AS records,
              count(done_at)::int AS done, (avg(extract(epoch FROM done_at - staged_at)) * 1000)::float8 AS latency_ms
         FROM staged_batches WHERE staged_at >= $1 GROUP BY 1, 2`,
      [since],
    ),
    // Failed batches stay staged (for replay) whatever their age: not done counts them and the running.
    db.query<{ n: number }>('SELECT count(*)::int AS n FROM staged_batches WHERE done_at IS NULL'),
    db.query<{ key: string; minute: Date; n: number }>(
      `SELECT e.event_type AS key, date_trunc('minute', e.stored_at) AS minute, count(*)::int AS n
         FROM events e WHERE e.batch_id IN (${RECENT}) AND e.stored_at >= $1 GROUP BY 1, 2`,
      [since],
    ),
    db.query<{ belt: string; minute: Date; runs: number; errors: number }>(
      `SELECT o.belt, date_trunc('minute', o.created_at) AS minute, count(*)::int AS runs, count(o.error)::int AS errors
         FROM events e JOIN belt_outputs o ON o.event_id = e.event_id
        WHERE e.batch_id IN (${RECENT}) AND o.created_at >= $1 GROUP BY 1, 2`,
      [since],
    ),
    db.query<{ action: string; belt: string; state: string; n: number }>(
      `SELECT r.action, r.belt, r.state, count(*)::int AS n
         FROM events e JOIN action_runs r ON r.event_id = e.event_id
        WHERE e.batch_id IN (${RECENT}) AND r.created_at >= $1 GROUP BY 1, 2, 3`,
      [since],
    ),
  ]);
  return {
    batches: batches.rows.map((r) => ({ minute: r.minute, batches: r.batches, records: r.records, done: r.done, latencyMs: r.latency_ms })),
    notDone: notDone.rows[0]?.n ?? 0,
    sources: batches.rows.map((r) => ({ key: r.topic, minute: r.minute, n: r.records })),
    eventTypes: eventTypes.rows,
    belts: belts.rows,
    actions: actions.rows,
  };
}
