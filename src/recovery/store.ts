import type { Pool, PoolClient } from 'pg';
import type { BadRow } from '../badrows/format';

/** Which stored bad rows a recovery run looks at (always only those not recovered yet). */
export interface RecoveryFilter {
  /** ISO-8601: bad rows stored from then on. */
  since?: string;
  /** Bad-row types; all when absent. */
  types?: string[];
  /** Only bad rows of batches read from this Kafka topic. */
  topic?: string;
}

export interface StoredBadRow {
  id: string;
  rowKey: string;
  type: string;
  badRow: BadRow;
}

const WHERE = `recovered_at IS NULL
   AND ($1::timestamptz IS NULL OR created_at >= $1)
   AND ($2::text[] IS NULL OR type = ANY($2))
   AND ($3::text IS NULL OR (left(batch_id, length($3) + 1) = $3 || '-' AND substr(batch_id, length($3) + 2) ~ '^[0-9]+-[0-9]+-[0-9]+$'))`;

function params(f: RecoveryFilter): unknown[] {
  return [f.since ?? null, f.types && f.types.length > 0 ? f.types : null, f.topic ?? null];
}

/** The newest bad row a run goes up to (rows stored later, repaired events failing again among them, wait for the next run), and how many it will look at. */
export async function recoveryBounds(pool: Pool, f: RecoveryFilter): Promise<{ max: string | null; total: number }> {
  const { rows } = await pool.query<{ max: string | null; total: number }>(`SELECT max(id)::text AS max, count(*)::int AS total FROM bad_rows WHERE ${WHERE}`, params(f));
  return rows[0];
}

/**
 * The next page of bad rows to recover, after `after` up to `max`, in id order. With `lock`, the
 * rows are locked for the caller's transaction; a row another run marked meanwhile is left out
 * (PostgreSQL re-checks `recovered_at IS NULL` once the other transaction is done).
 */
// Ordered by the table's id, not `id`: that name is the selected id::text, which sorts "10000" before "9999".
export async function badRowPage(db: Pool | PoolClient, f: RecoveryFilter, after: string, max: string, limit: number, lock: boolean): Promise<StoredBadRow[]> {
  const { rows } = await db.query<{ id: string; row_key: string; type: string; bad_row: BadRow }>(
    `SELECT id::text, row_key, type, bad_row FROM bad_rows
      WHERE ${WHERE} AND id > $4::bigint AND id <= $5::bigint
      ORDER BY bad_rows.id LIMIT $6 ${lock ? 'FOR UPDATE' : ''}`,
    [...params(f), after, max, limit],
  );
  return rows.map((r) => ({ id: r.id, rowKey: r.row_key, type: r.type, badRow: r.bad_row }));
}

/**
 * Marks bad rows recovered by this run, and renames their key so that a repaired event failing
 * again gets a bad row of its own (the pipeline keys an event's bad row by its id).
 */
export async function markRecovered(client: PoolClient, run: string, rows: { id: string; flow: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `UPDATE bad_rows b SET recovered_at = now(), recovery_run = $3, recovery_flow = t.flow,
            original_key = b.row_key, row_key = b.row_key || '#recovered-' || b.id
       FROM unnest($1::bigint[], $2::text[]) AS t(id, flow)
      WHERE b.id = t.id AND b.recovered_at IS NULL`,
    [rows.map((r) => r.id), rows.map((r) => r.flow), run],
  );
  await client.query('DELETE FROM recovery_failures WHERE bad_row_id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
}

export interface RecoveryFailure {
  id: string;
  type: string;
  status: 'failed' | 'unmatched' | 'unrecoverable';
  flow?: string;
  reason: string;
}

/** Keeps the latest failure of each bad row (with how many runs failed on it). */
export async function recordFailures(client: PoolClient, run: string, failures: RecoveryFailure[]): Promise<void> {
  if (failures.length === 0) return;
  await client.query(
    `INSERT INTO recovery_failures (bad_row_id, type, status, flow, reason, recovery_run)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t, (SELECT $6::text) AS r
     ON CONFLICT (bad_row_id) DO UPDATE
       SET type = excluded.type, status = excluded.status, flow = excluded.flow, reason = excluded.reason,
           failed_at = now(),
           attempts = recovery_failures.attempts + CASE WHEN recovery_failures.recovery_run = excluded.recovery_run THEN 0 ELSE 1 END,
           recovery_run = excluded.recovery_run`,
    [failures.map((f) => f.id), failures.map((f) => f.type), failures.map((f) => f.status), failures.map((f) => f.flow ?? null), failures.map((f) => f.reason), run],
  );
}

/** The newest bad rows a run would look at (not recovered yet), newest first: what a dry run in the API previews. */
export async function newestBadRows(db: Pool, f: RecoveryFilter, limit: number): Promise<(StoredBadRow & { createdAt: string })[]> {
  const { rows } = await db.query<{ id: string; row_key: string; type: string; bad_row: BadRow; created_at: Date }>(
    `SELECT id::text, row_key, type, bad_row, created_at FROM bad_rows WHERE ${WHERE} ORDER BY bad_rows.id DESC LIMIT $4`,
    [...params(f), limit],
  );
  return rows.map((r) => ({ id: r.id, rowKey: r.row_key, type: r.type, badRow: r.bad_row, createdAt: r.created_at.toISOString() }));
}
