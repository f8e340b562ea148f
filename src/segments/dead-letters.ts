import type { Pool } from 'pg';
import { getSegment, type Queryable } from './catalog';
import { writeRows, type DeadLetter } from './writes';

/** Live segments, I/O: reading dead letters, and redriving them through the current schema. */

export interface StoredDeadLetter {
  id: string;
  segment: string;
  version: number;
  rowId: string;
  row: Record<string, unknown>;
  reason: DeadLetter['reason'];
  eventId: string;
  belt: string;
  eventAt: string;
  createdAt: string;
  attempts: number;
  redrivenAt: string | null;
}

interface DeadLetterDbRow {
  id: string;
  segment: string;
  version: number;
  row_id: string;
  row: Record<string, unknown>;
  reason: DeadLetter['reason'];
  event_id: string;
  belt: string;
  event_at: Date;
  created_at: Date;
  attempts: number;
  redriven_at: Date | null;
}

const fromDeadRow = (r: DeadLetterDbRow): StoredDeadLetter => ({
  id: r.id,
  segment: r.segment,
  version: r.version,
  rowId: r.row_id,
  row: r.row,
  reason: r.reason,
  eventId: r.event_id,
  belt: r.belt,
  eventAt: r.event_at.toISOString(),
  createdAt: r.created_at.toISOString(),
  attempts: r.attempts,
  redrivenAt: r.redriven_at ? r.redriven_at.toISOString() : null,
});

// Ordered by the table's id, not `id`: that name is the selected id::text, which sorts "10000" before "9999".
/** Dead letters of a segment, oldest first; redriven ones only when asked. */
export async function listDeadLetters(db: Queryable, project: string, segment: string, opts: { all?: boolean; limit?: number; after?: string } = {}): Promise<{ deadLetters: StoredDeadLetter[]; next: string | null }> {
  const limit = opts.limit ?? 100;
  const { rows } = await db.query<DeadLetterDbRow>(
    `SELECT id::text, segment, version, row_id, row, reason, event_id, belt, event_at, created_at, attempts, redriven_at
       FROM segment_dead_letters
      WHERE project = $1 AND segment = $2 AND ($3 OR redriven_at IS NULL) AND ($4::bigint IS NULL OR id > $4)
      ORDER BY segment_dead_letters.id LIMIT $5`,
    [project, segment, opts.all === true, opts.after ?? null, limit],
  );
  return { deadLetters: rows.map(fromDeadRow), next: rows.length === limit ? rows[rows.length - 1].id : null };
}

export interface RedriveResult {
  redriven: number;
  stillFailing: number;
}

/**
 * Writes a segment's open dead letters with its current schema: those that pass now are upserted
 * (an older event still never overwrites a newer row) and marked redriven; the others keep
 * waiting with the new reason. One transaction per page, so a crash redrives nothing twice.
 */
export async function redrive(pool: Pool, project: string, segment: string, onPage: (r: RedriveResult) => void = () => undefined): Promise<RedriveResult> {
  const total: RedriveResult = { redriven: 0, stillFailing: 0 };
  let after = '0';
  for (;;) {
    const client = await pool.connect();
    let page: DeadLetterDbRow[];
    try {
      await client.query('BEGIN');
      ({ rows: page } = await client.query<DeadLetterDbRow>(
        `SELECT id::text, segment, version, row_id, row, reason, event_id, belt, event_at, created_at, attempts, redriven_at
           FROM segment_dead_letters WHERE project = $1 AND segment = $2 AND redriven_at IS NULL AND id > $3
          ORDER BY segment_dead_letters.id LIMIT 500 FOR UPDATE SKIP LOCKED`,
        [project, segment, after],
      ));
      if (page.length === 0) {
        await client.query('COMMIT');
        return total;
      }
      const seg = await getSegment(client, project, segment);
      if (!seg) throw new Error(`no live segment ${segment}`);
      const pending = page.map((d) => ({ segment, row: d.row, eventId: d.event_id, belt: d.belt, eventAt: d.event_at.getTime(), id: d.id }));
      const { dead } = await writeRows(client, seg, pending);
      const why = new Map(dead.map((d) => [`${d.eventId}/${d.belt}/${d.rowId}`, d.reason]));
      const reasonOf = (p: (typeof pending)[number]) => why.get(`${p.eventId}/${p.belt}/${String(p.row.id)}`);
      const done = pending.filter((p) => !reasonOf(p));
      await client.query('UPDATE segment_dead_letters SET redriven_at = now(), version = $2 WHERE id = ANY($1::bigint[])', [done.map((p) => p.id), seg.version]);
      for (const p of pending.filter((q) => reasonOf(q))) {
        await client.query('UPDATE segment_dead_letters SET reason = $2, attempts = attempts + 1, version = $3 WHERE id = $1', [p.id, JSON.stringify(reasonOf(p)), seg.version]);
      }
      await client.query('COMMIT');
      const pageResult = { redriven: done.length, stillFailing: page.length - done.length };
      total.redriven += pageResult.redriven;
      total.stillFailing += pageResult.stillFailing;
      onPage(pageResult);
      after = page[page.length - 1].id;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

