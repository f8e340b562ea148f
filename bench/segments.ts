import crypto from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { withTransaction } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { ensureSegment, qualified } from '../src/segments/catalog';
import { DEFAULT_PROJECT } from '../src/projects/names';
import { writeSegmentRows, type PendingRow } from '../src/segments/writes';

const BATCH = 500;

/**
 * Live-segment rows written per second by the real path (ajv check, newest-event-wins upsert
 * through jsonb_populate_recordset, _data kept, one transaction per batch) against a plain
 * multi-row INSERT … ON CONFLICT of the same typed values into a table of the same columns, in the
 * same run (PostgreSQL's ceiling). Half the rows update ids written before.
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

  let t = Date.now();
  let dead = 0;
  for (let i = 0; i < n; i += BATCH) {
    const r = await withTransaction(pool, (client) => writeSegmentRows(client, 'default', rows.slice(i, i + BATCH)));
    dead += r.deadLetters.length;
  }
  const realSec = (Date.now() - t) / 1000;

  const ceiling = `bench_seg_ceiling_${run}`;
  await pool.query(
    `CREATE TABLE ${ceiling} (id text PRIMARY KEY, name text, visits bigint, score double precision, vip boolean, seen timestamptz, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
  t = Date.now();
  for (let i = 0; i < n; i += BATCH) {
    const byId = new Map(rows.slice(i, i + BATCH).map((r) => [r.row.id as string, r.row]));
    const v = [...byId.values()];
    await pool.query(
      `INSERT INTO ${ceiling} (id, name, visits, score, vip, seen)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::bool[], $6::timestamptz[])
       ON CONFLICT (id) DO UPDATE SET name = excluded.name, visits = excluded.visits, score = excluded.score, vip = excluded.vip, seen = excluded.seen, updated_at = now()`,
      [v.map((r) => r.id), v.map((r) => r.name), v.map((r) => r.visits), v.map((r) => r.score), v.map((r) => r.vip), v.map((r) => r.seen)],
    );
  }
  const ceilingSec = (Date.now() - t) / 1000;
  await pool.query(`DROP TABLE ${ceiling}`);
  await pool.query(`DROP TABLE ${qualified(DEFAULT_PROJECT, `live_segment_${name}`)}`);
  await pool.query('DELETE FROM live_segments WHERE name = $1', [name]);
  await pool.end();
  const real = n / realSec;
  const base = n / ceilingSec;
  return {
    part: 'segments',
    rows: n,
    deadLetters: dead,
    rowsPerSec: Math.round(real),
    baselineInsertOnConflictPerSec: Math.round(base),
    ratio: Number((real / base).toFixed(3)),
  };
}
