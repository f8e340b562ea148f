import type { Pool, PoolClient } from 'pg';
import type { KeyedBadRow } from '../events/expand';
import { storable } from '../events/storable';
import { badRowType, type BadRow, type BadRowType } from './format';

function storableKey(key: string): string {
  return storable(key) as string;
}

export interface StoredBadRow {
  key: string;
  type: BadRowType;
  row: BadRow;
}

/**
 * Keeps bad rows by their key (where the input sat); returns only the rows new to the store, so a
 * re-processed batch neither counts nor publishes its bad rows twice.
 */
export async function insertBadRows(client: PoolClient, rows: readonly KeyedBadRow[], batchId: string): Promise<StoredBadRow[]> {
  if (rows.length === 0) return [];
  const types = rows.map((b) => badRowType(b.row));
  const { rows: fresh } = await client.query<{ row_key: string }>(
    `INSERT INTO bad_rows (row_key, type, bad_row, batch_id)
     SELECT k, t, r, $4 FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS b(k, t, r)
     ON CONFLICT (row_key) DO NOTHING RETURNING row_key`,
    // A bad row is kept whatever its input held: what PostgreSQL refuses (NUL, lone surrogates,
    // extreme nesting) is replaced in the stored copy, or one row would fail its whole batch.
    [rows.map((b) => storableKey(b.key)), types, rows.map((b) => JSON.stringify(storable(b.row))), batchId],
  );
  const isFresh = new Set(fresh.map((r) => r.row_key));
  return rows.flatMap((b, i) => (isFresh.has(storableKey(b.key)) ? [{ key: b.key, type: types[i], row: b.row }] : []));
}

/** A stored bad row as the admin API lists it. */
export interface ListedBadRow {
  id: string;
  type: string;
  createdAt: string;
  /** When a recovery run sent it through again, by which run and flow; null while it waits. */
  recoveredAt: string | null;
  recoveryRun: string | null;
  recoveryFlow: string | null;
  badRow: BadRow;
}

export interface BadRowQuery {
  type?: string;
  /** ISO-8601: stored from then on. */
  since?: string;
  /** Bad-row id cursor: rows older than it (the listing is newest first). */
  after?: string;
  limit: number;
}

/** Bad rows newest first, and the cursor to the next page (null on the last). */
export async function listBadRows(db: Pool, q: BadRowQuery): Promise<{ rows: ListedBadRow[]; next: string | null }> {
// Ordered by the table's id, not `id`: that name is the selected id::text, which sorts "10000" before "9999".
  const { rows } = await db.query<{ id: string; type: string; created_at: Date; recovered_at: Date | null; recovery_run: string | null; recovery_flow: string | null; bad_row: BadRow }>(
    `SELECT id::text, type, created_at, recovered_at, recovery_run, recovery_flow, bad_row FROM bad_rows
      WHERE ($1::text IS NULL OR type = $1) AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY bad_rows.id DESC LIMIT $4`,
    [q.type ?? null, q.since ?? null, q.after ?? null, q.limit + 1],
  );
  const page = rows.slice(0, q.limit).map((r) => ({
    id: r.id,
    type: r.type,
    createdAt: r.created_at.toISOString(),
    recoveredAt: r.recovered_at?.toISOString() ?? null,
    recoveryRun: r.recovery_run,
    recoveryFlow: r.recovery_flow,
    badRow: r.bad_row,
  }));
  return { rows: page, next: rows.length > q.limit ? page[page.length - 1].id : null };
}

/** Per type: bad rows stored (since `since`), and how many of them no run has recovered yet. */
export async function badRowTypeCounts(db: Pool, since?: string): Promise<{ type: string; total: number; pending: number }[]> {
  const { rows } = await db.query<{ type: string; total: number; pending: number }>(
    `SELECT type, count(*)::int AS total, (count(*) FILTER (WHERE recovered_at IS NULL))::int AS pending
       FROM bad_rows WHERE $1::timestamptz IS NULL OR created_at >= $1 GROUP BY type ORDER BY type`,
    [since ?? null],
  );
  return rows;
}
