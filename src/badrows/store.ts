import type { PoolClient } from 'pg';
import type { KeyedBadRow } from '../ingest/events';
import { badRowType, type BadRow, type BadRowType } from './format';

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
    [rows.map((b) => b.key), types, rows.map((b) => JSON.stringify(b.row)), batchId],
  );
  const isFresh = new Set(fresh.map((r) => r.row_key));
  return rows.flatMap((b, i) => (isFresh.has(b.key) ? [{ key: b.key, type: types[i], row: b.row }] : []));
}
