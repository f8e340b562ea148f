import crypto from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { withTransaction } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { ensureSegment, qualified } from '../src/segments/catalog';
import { DEFAULT_PROJECT } from '../src/projects/names';
import { latestPerId, writeSegmentRows, type PendingRow } from '../src/segments/writes';

const BATCH = 500;

/**
 * Live-segment rows written per second by the real path (ajv check, newest-event-wins upsert
 * through jsonb_populate_record, one transaction per batch) against a plain multi-row
 * INSERT … ON CONFLICT of the same rows into a table of the same columns (the typed values, the
 * row whole as `_data`, the event's id and time), in the same run: PostgreSQL's ceiling, as the
 * profiles part has it. A second ceiling writes the typed columns only, so the cost of keeping
 * `_data` shows. Half the rows update ids written before.
 */
export async function benchSegments(opts: { rows?: number } = {}): Promise<Record<string, unknown>> {
  const cfg = loadConfig();
  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 2, options: '-c search_path=beltline,public' });
  await migrate(pool);
  const n = opts.rows ?? Number(process.env.BENCH_SEGMENT_ROWS ?? 50_000);
  const run = crypto.randomBytes(3).toString('hex');
  const name = `bench-seg-${run}`;
  const schema = {
    type: 'object',
    required: ['id', 'name'],
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      visits: { type: 'integer' },
      score: { type: 'number' },
      vip: { type: 'boolean' },
      seen: { type: 'string', format: 'date-time' },
    },
  };
  await withTransaction(pool, (client) => ensureSegment(client, 'default', name, schema));
  const ids = Math.max(1, Math.floor(n / 2));
  const rows: PendingRow[] = Array.from({ length: n }, (_, i) => ({
    segment: name,
    row: { id: `r${i % ids}`, name: `n${i}`, visits: i, score: i / 7, vip: i % 2 === 0, seen: new Date(1_700_000_000_000 + i).toISOString() },
    eventId: `e${i}`,
    belt: 'bench',
    eventAt: 1_700_000_000_000 + i,
  }));

  const t = Date.now();
  let dead = 0;
  for (let i = 0; i < n; i += BATCH) {
    const r = await withTransaction(pool, (client) => writeSegmentRows(client, 'default', rows.slice(i, i + BATCH)));
    dead += r.deadLetters.length;
  }
  const realSec = (Date.now() - t) / 1000;

  // Per batch, the rows that win per id (what the real path writes), taken before the clock starts.
  const batches = Array.from({ length: Math.ceil(n / BATCH) }, (_, b) => latestPerId(rows.slice(b * BATCH, (b + 1) * BATCH)));
  const typed = (v: PendingRow[]): unknown[] => [v.map((r) => r.row.id), v.map((r) => r.row.name), v.map((r) => r.row.visits), v.map((r) => r.row.score), v.map((r) => r.row.vip), v.map((r) => r.row.seen)];
  const ceiling = async (ddl: string, insert: string, params: (v: PendingRow[]) => unknown[]): Promise<number> => {
    const table = `bench_seg_ceiling_${run}`;
    await pool.query(`CREATE TABLE ${table} ${ddl}`);
    const start = Date.now();
    for (const v of batches) await pool.query(insert.replaceAll('$table', table), params(v));
    const sec = (Date.now() - start) / 1000;
    await pool.query(`DROP TABLE ${table}`);
    return sec;
  };
  // The same columns as the segment's table, the same values: the typed ones, the row whole as
  // `_data`, the event's id and time, `updated_at`.
  const sameSec = await ceiling(
    `(LIKE ${qualified(DEFAULT_PROJECT, `live_segment_${name}`)} INCLUDING ALL)`,
    `INSERT INTO $table (id, name, visits, score, vip, seen, _data, _event_id, _event_at, updated_at)
     SELECT u.id, u.name, u.visits, u.score, u.vip, u.seen, $7::jsonb -> (u.o::int - 1), u.e, u.a, clock_timestamp()
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[], $8::text[], $9::timestamptz[])
            WITH ORDINALITY AS u(id, name, visits, score, vip, seen, e, a, o)
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen,
        _data = excluded._data, _event_id = excluded._event_id, _event_at = excluded._event_at, updated_at = excluded.updated_at`,
    (v) => [...typed(v), JSON.stringify(v.map((r) => r.row)), v.map((r) => r.eventId), v.map((r) => new Date(r.eventAt).toISOString())],
  );
  // Only the typed columns: what PostgreSQL costs without the row kept whole and its event.
  const typedSec = await ceiling(
    '(id text PRIMARY KEY, name text, visits bigint, score double precision, vip boolean, seen timestamptz, updated_at timestamptz NOT NULL DEFAULT now())',
    `INSERT INTO $table (id, name, visits, score, vip, seen)
     SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[])
     ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen, updated_at = now()`,
    typed,
  );
  await pool.query(`DROP TABLE ${qualified(DEFAULT_PROJECT, `live_segment_${name}`)}`);
  await pool.query('DELETE FROM live_segments WHERE name = $1', [name]);
  await pool.end();
  return {
    part: 'segments',
    rows: n,
    deadLetters: dead,
    rowsPerSec: Math.round(n / realSec),
    baselineInsertOnConflictPerSec: Math.round(n / sameSec),
    ratio: Number((sameSec / realSec).toFixed(3)),
    typedOnlyInsertOnConflictPerSec: Math.round(n / typedSec),
    ratioToTypedOnly: Number((typedSec / realSec).toFixed(3)),
  };
}
