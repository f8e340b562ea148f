import type { Pool, PoolClient } from 'pg';
import type { BatchRecord } from './record';

/** A batch as the bridge cut it: where its records sit in Kafka. */
export interface BatchRef {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
}

/** The id events, bad rows and outputs of a batch carry; the same records always give the same id. */
export function batchId(b: BatchRef): string {
  return `${b.topic}-${b.partition}-${b.firstOffset}-${b.lastOffset}`;
}

/**
 * Stages a batch's records before its workflow starts. A bridge that re-reads the same records
 * after a crash stages the same id again, which keeps the first copy.
 */
export async function stageBatch(pool: Pool, ref: BatchRef, records: readonly BatchRecord[]): Promise<void> {
  await pool.query(
    `INSERT INTO staged_batches (batch_id, topic, partition, first_offset, last_offset, record_count, records)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (batch_id) DO NOTHING`,
    [batchId(ref), ref.topic, ref.partition, ref.firstOffset, ref.lastOffset, records.length, JSON.stringify(records)],
  );
}

export class BatchNotStaged extends Error {
  constructor(readonly batchId: string) {
    super(`batch ${batchId} is not staged (its records were purged, or it was never staged)`);
    this.name = 'BatchNotStaged';
  }
}

/** The staged records of a batch; throws BatchNotStaged when there are none. */
export async function loadStagedBatch(pool: Pool, ref: BatchRef): Promise<BatchRecord[]> {
  const id = batchId(ref);
  const { rows } = await pool.query<{ records: string }>('SELECT records FROM staged_batches WHERE batch_id = $1', [id]);
  if (!rows[0]) throw new BatchNotStaged(id);
  return JSON.parse(rows[0].records) as BatchRecord[];
}

/** In the transaction that stored the batch's events: from now on it may be purged. */
export async function markBatchDone(client: PoolClient, ref: BatchRef): Promise<void> {
  await client.query('UPDATE staged_batches SET done_at = now() WHERE batch_id = $1 AND done_at IS NULL', [batchId(ref)]);
}

/**
 * Deletes batches done longer than `keepMs` ago. Failed batches are never done, so their records
 * stay for `beltline replay` whatever Kafka's retention.
 */
export async function purgeDoneBatches(pool: Pool, keepMs: number): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM staged_batches WHERE done_at < now() - $1 * interval '1 millisecond'`, [keepMs]);
  return rowCount ?? 0;
}
