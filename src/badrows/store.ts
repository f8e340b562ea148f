import type { PoolClient } from 'pg';
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
