import type { Pool } from 'pg';

export interface BeltErrorRow {
  eventId: string;
  version: string;
  error: { kind: string; message: string; stack?: string; logs?: string[] };
  createdAt: string;
}

/** The events a belt failed on, newest first. */
export async function listBeltErrors(pool: Pool, belt: string, opts: { since?: string; limit: number }): Promise<BeltErrorRow[]> {
  const { rows } = await pool.query<{ event_id: string; belt_version: string; error: BeltErrorRow['error']; created_at: Date }>(
    `SELECT event_id, belt_version, error, created_at FROM belt_outputs
      WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2)
      ORDER BY created_at DESC, event_id LIMIT $3`,
    [belt, opts.since ?? null, opts.limit],
  );
  return rows.map((r) => ({ eventId: r.event_id, version: r.belt_version, error: r.error, createdAt: r.created_at.toISOString() }));
}
