import type { ValidateFunction } from 'ajv';
import type { Pool, PoolClient } from 'pg';
import { SCHEMA } from '../db/pool';
import { DefinitionError } from '../shared/errors';
import type { ResilientProducer } from '../ingest/kafka';
import { quoteIdent } from '../db/sql';
import { compileRowValidator, evolve, META_COLUMNS, segmentColumns, tableName, validationMessages, type Column } from './columns';

/** Live segments, I/O: their tables, upserts by id, dead letters and redrive. */

type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

export interface Segment {
  project: string;
  name: string;
  version: number;
  table: string;
  schema: Record<string, unknown>;
  columns: Column[];
}

interface SegmentRow {
  project: string;
  name: string;
  version: number;
  table_name: string;
  schema: Record<string, unknown>;
  columns: Column[];
}

const fromRow = (r: SegmentRow): Segment => ({ project: r.project, name: r.name, version: r.version, table: r.table_name, schema: r.schema, columns: r.columns });

/** The table a name refers to, schema-qualified and quoted. */
export const qualified = (table: string): string => `${quoteIdent(SCHEMA)}.${quoteIdent(table)}`;

/** The newest version of a segment (or the one asked for), which takes new rows. */
export async function getSegment(db: Queryable, project: string, name: string, version?: number): Promise<Segment | undefined> {
  const { rows } = await db.query<SegmentRow>(
    `SELECT project, name, version, table_name, schema, columns FROM live_segments
      WHERE project = $1 AND name = $2 AND ($3::int IS NULL OR version = $3) ORDER BY version DESC LIMIT 1`,
    [project, name, version ?? null],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function listSegments(db: Queryable, project: string): Promise<(Segment & { rows: number; deadLetters: number })[]> {
  const { rows } = await db.query<SegmentRow & { dead: number }>(
    `SELECT s.project, s.name, s.version, s.table_name, s.schema, s.columns,
            (SELECT count(*)::int FROM segment_dead_letters d WHERE d.project = s.project AND d.segment = s.name AND d.redriven_at IS NULL) AS dead
       FROM live_segments s WHERE s.project = $1 ORDER BY s.name, s.version`,
    [project],
  );
  const out: (Segment & { rows: number; deadLetters: number })[] = [];
  for (const r of rows) {
    const { rows: n } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(r.table_name)}`);
    out.push({ ...fromRow(r), rows: n[0].n, deadLetters: r.dead });
  }
  return out;
}

function columnDdl(c: Column): string {
  return `${quoteIdent(c.name)} ${c.type}`;
}

// Rows are rewritten by id over and over; room left on each page lets PostgreSQL update a row in
// place (a HOT update) instead of adding an index entry for every new version.
const UPSERT_FILLFACTOR = 80;

async function createTable(client: PoolClient, table: string, columns: Column[]): Promise<void> {
  const cols = columns.filter((c) => c.name !== 'id').map(columnDdl);
  await client.query(
    `CREATE TABLE ${qualified(table)} (
       "id" text PRIMARY KEY${cols.map((c) => `,\n       ${c}`).join('')},
       ${quoteIdent(META_COLUMNS.data)} jsonb NOT NULL,
       ${quoteIdent(META_COLUMNS.eventId)} text NOT NULL,
       ${quoteIdent(META_COLUMNS.eventAt)} timestamptz NOT NULL,
       ${quoteIdent(META_COLUMNS.updatedAt)} timestamptz NOT NULL DEFAULT now())
     WITH (fillfactor = ${UPSERT_FILLFACTOR})`,
  );
}

/**
 * Makes the segment's table match a (new) schema, in the caller's transaction: creates it, adds
 * columns for new optional properties (filled from the rows already stored), or — when asked
 * with the next `schemaVersion` — creates a new version with its own table. Anything that would
 * lose or refuse stored data is a DefinitionError with status 409. Returns the version in force.
 */
export async function ensureSegment(client: PoolClient, project: string, name: string, schema: Record<string, unknown>, requestedVersion?: number): Promise<number> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`live-segment:${project}/${name}`]);
  const columns = segmentColumns(schema);
  const current = await getSegment(client, project, name);
  const create = async (version: number): Promise<number> => {
    const table = tableName(name, version);
    await createTable(client, table, columns);
    await client.query('INSERT INTO live_segments (project, name, version, table_name, schema, columns) VALUES ($1, $2, $3, $4, $5, $6)', [
      project,
      name,
      version,
      table,
      JSON.stringify(schema),
      JSON.stringify(columns),
    ]);
    return version;
  };
  if (!current) {
    if (requestedVersion !== undefined && requestedVersion !== 1) throw new DefinitionError('schemaVersion', 'a new live segment starts at version 1');
    return create(1);
  }
  if (requestedVersion === current.version + 1) return create(requestedVersion);
  if (requestedVersion !== undefined && requestedVersion !== current.version) {
    throw new DefinitionError('schemaVersion', `must be ${current.version} (change the current table) or ${current.version + 1} (a new version with its own table)`);
  }
  const { added, incompatible } = evolve(current.columns, columns);
  if (incompatible.length > 0) {
    throw new DefinitionError(
      'schema',
      `incompatible with version ${current.version} of live segment ${name} (table ${current.table}): ${incompatible.join('; ')}. ` +
        `Make the change compatible (only new optional properties), or send "schemaVersion": ${current.version + 1} to create a new version with its own table; the current table and its rows stay as they are`,
      409,
    );
  }
  const table = qualified(current.table);
  for (const c of added) {
    await client.query(`ALTER TABLE ${table} ADD COLUMN ${columnDdl(c)}`);
    // Rows written before the property was in the schema may hold it already (in _data); values
    // that do not fit the column's type stay in _data only.
    const value =
      c.type === 'jsonb'
        ? `${quoteIdent(META_COLUMNS.data)} -> $1`
        : `CASE WHEN pg_input_is_valid(${quoteIdent(META_COLUMNS.data)} ->> $1, '${c.type}') THEN (${quoteIdent(META_COLUMNS.data)} ->> $1)::${c.type} END`;
    await client.query(`UPDATE ${table} SET ${quoteIdent(c.name)} = ${value} WHERE ${quoteIdent(META_COLUMNS.data)} ? $1`, [c.name]);
  }
  await client.query('UPDATE live_segments SET schema = $4, columns = $5, updated_at = now() WHERE project = $1 AND name = $2 AND version = $3', [
    project,
    name,
    current.version,
    JSON.stringify(schema),
    JSON.stringify(columns),
  ]);
  return current.version;
}

/** One DirectUpdate to write, with where it came from. */
export interface PendingRow {
  segment: string;
  row: Record<string, unknown>;
  eventId: string;
  belt: string;
  /** The event's time, epoch ms: a row from an older event never overwrites a newer one. */
  eventAt: number;
}

export interface DeadLetter {
  segment: string;
  version: number;
  rowId: string;
  row: Record<string, unknown>;
  reason: { kind: 'schema' | 'database' | 'unknown_segment'; messages: string[] };
  eventId: string;
  belt: string;
  eventAt: number;
}

const validators = new Map<string, ValidateFunction>();

function validatorFor(seg: Segment): ValidateFunction {
  const key = `${seg.table}:${JSON.stringify(seg.schema)}`;
  let v = validators.get(key);
  if (!v) {
    v = compileRowValidator(seg.schema);
    validators.set(key, v);
  }
  return v;
}

/** Orders rows of one id: newer event, then later event id, then later output wins. */
function newer(a: PendingRow, b: PendingRow): boolean {
  return a.eventAt !== b.eventAt ? a.eventAt > b.eventAt : a.eventId >= b.eventId;
}

/** Per id, the row that wins: what a sequence of upserts would leave. */
export function latestPerId(rows: PendingRow[]): PendingRow[] {
  const byId = new Map<string, PendingRow>();
  for (const r of rows) {
    const id = r.row.id as string;
    const seen = byId.get(id);
    if (!seen || newer(r, seen)) byId.set(id, r);
  }
  return [...byId.values()];
}

/**
 * One statement for all rows. Each row travels once, in one JSON parameter with its event: the
 * typed columns are taken from it in SQL (jsonb_populate_record) and it is kept whole as `_data`.
 * `updated_at` is when the row was written (clock_timestamp()), not when the transaction began.
 */
async function upsert(client: PoolClient, seg: Segment, rows: PendingRow[]): Promise<void> {
  const table = qualified(seg.table);
  const cols = seg.columns.map((c) => quoteIdent(c.name));
  const at = quoteIdent(META_COLUMNS.eventAt);
  const eid = quoteIdent(META_COLUMNS.eventId);
  const data = quoteIdent(META_COLUMNS.data);
  const updatedAt = quoteIdent(META_COLUMNS.updatedAt);
  const updates = [...seg.columns.filter((c) => c.name !== 'id').map((c) => quoteIdent(c.name)), data, eid, at]
    .map((c) => `${c} = excluded.${c}`)
    .concat(`${updatedAt} = excluded.${updatedAt}`)
    .join(', ');
  await client.query(
    `INSERT INTO ${table} AS t (${cols.join(', ')}, ${data}, ${eid}, ${at}, ${updatedAt})
     SELECT ${cols.map((c) => `p.${c}`).join(', ')}, x.r, x.e, x.a::timestamptz, clock_timestamp()
       FROM jsonb_to_recordset($1::jsonb) AS x(r jsonb, e text, a text)
      CROSS JOIN LATERAL jsonb_populate_record(NULL::${table}, x.r) AS p
     ON CONFLICT ("id") DO UPDATE SET ${updates}
      WHERE (t.${at}, t.${eid}) <= (excluded.${at}, excluded.${eid})`,
    [JSON.stringify(rows.map((r) => ({ r: r.row, e: r.eventId, a: new Date(r.eventAt).toISOString() })))],
  );
}

/**
 * Writes rows by id in the caller's transaction: each checked against its segment's schema;
 * what fails (the schema, or PostgreSQL — a value too large for bigint, say) becomes a dead
 * letter instead of failing the batch. Returns the dead letters stored here for the first time.
 */
function deadLetter(segment: string, version: number, r: PendingRow, kind: DeadLetter['reason']['kind'], messages: string[]): DeadLetter {
  return { segment, version, rowId: String(r.row.id), row: r.row, reason: { kind, messages }, eventId: r.eventId, belt: r.belt, eventAt: r.eventAt };
}

/**
 * Checks rows against one segment's schema and upserts those that pass, newest per id; what
 * fails (the schema, or PostgreSQL — a value too large for bigint, say) comes back as dead
 * letters, not stored, so the batch and a redrive can each decide what to do with them.
 */
async function writeRows(client: PoolClient, seg: Segment, pending: PendingRow[]): Promise<{ written: number; dead: DeadLetter[] }> {
  const validate = validatorFor(seg);
  const dead: DeadLetter[] = [];
  const valid: PendingRow[] = [];
  for (const r of pending) {
    if (validate(r.row)) valid.push(r);
    else dead.push(deadLetter(seg.name, seg.version, r, 'schema', validationMessages(validate)));
  }
  const winners = latestPerId(valid);
  if (winners.length === 0) return { written: 0, dead };
  // Left open when the upsert succeeds: COMMIT releases it, and a RELEASE would cost a round trip.
  await client.query('SAVEPOINT segment_rows');
  try {
    await upsert(client, seg, winners);
    return { written: winners.length, dead };
  } catch {
    // One row PostgreSQL refuses must not hold back the others: find it row by row.
    await client.query('ROLLBACK TO SAVEPOINT segment_rows');
  }
  let written = 0;
  for (const r of winners) {
    await client.query('SAVEPOINT segment_row');
    try {
      await upsert(client, seg, [r]);
      await client.query('RELEASE SAVEPOINT segment_row');
      written++;
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT segment_row');
      dead.push(deadLetter(seg.name, seg.version, r, 'database', [(err as Error).message]));
    }
  }
  return { written, dead };
}

/**
 * Writes a batch's rows by id in the caller's transaction, each segment with its schema; rows
 * that fail become dead letters instead of failing the batch. Returns the dead letters stored
 * here for the first time.
 */
export async function writeSegmentRows(client: PoolClient, project: string, rows: PendingRow[]): Promise<{ written: number; deadLetters: DeadLetter[] }> {
  const bySegment = new Map<string, PendingRow[]>();
  for (const r of rows) {
    const list = bySegment.get(r.segment);
    if (list) list.push(r);
    else bySegment.set(r.segment, [r]);
  }
  const dead: DeadLetter[] = [];
  let written = 0;
  for (const [name, pending] of bySegment) {
    const seg = await getSegment(client, project, name);
    if (!seg) {
      dead.push(...pending.map((r) => deadLetter(name, 0, r, 'unknown_segment', [`no live segment ${name}`])));
      continue;
    }
    const result = await writeRows(client, seg, pending);
    written += result.written;
    dead.push(...result.dead);
  }
  return { written, deadLetters: await storeDeadLetters(client, project, dead) };
}

async function storeDeadLetters(client: PoolClient, project: string, dead: DeadLetter[]): Promise<DeadLetter[]> {
  if (dead.length === 0) return [];
  const { rows } = await client.query<{ k: string }>(
    `INSERT INTO segment_dead_letters (project, segment, version, row_id, row, reason, event_id, belt, event_at)
     SELECT $1, s, v, rid, r, why, e, b, to_timestamp(at / 1000.0)
       FROM unnest($2::text[], $3::int[], $4::text[], $5::jsonb[], $6::jsonb[], $7::text[], $8::text[], $9::float8[])
            AS d(s, v, rid, r, why, e, b, at)
     ON CONFLICT (event_id, belt, segment, row_id) DO NOTHING
     RETURNING event_id || '/' || belt || '/' || segment || '/' || row_id AS k`,
    [
      project,
      dead.map((d) => d.segment),
      dead.map((d) => d.version),
      dead.map((d) => d.rowId),
      dead.map((d) => JSON.stringify(d.row)),
      dead.map((d) => JSON.stringify(d.reason)),
      dead.map((d) => d.eventId),
      dead.map((d) => d.belt),
      dead.map((d) => d.eventAt),
    ],
  );
  const fresh = new Set(rows.map((r) => r.k));
  return dead.filter((d) => fresh.has(`${d.eventId}/${d.belt}/${d.segment}/${d.rowId}`));
}

/** The Kafka topic a segment's dead letters also go to. */
export const deadLetterTopic = (segment: string): string => `dead-letter.${segment}`;

/** Sends dead letters to their segments' topics; keyed by row id so a consumer sees one row's history in order. */
export async function publishDeadLetters(producer: ResilientProducer, dead: DeadLetter[]): Promise<void> {
  const bySegment = new Map<string, DeadLetter[]>();
  for (const d of dead) {
    const list = bySegment.get(d.segment);
    if (list) list.push(d);
    else bySegment.set(d.segment, [d]);
  }
  for (const [segment, letters] of bySegment) {
    const topic = deadLetterTopic(segment);
    await producer.ensureTopic(topic);
    await producer.send(
      topic,
      letters.map((d) => ({
        key: d.rowId,
        value: JSON.stringify({ segment: d.segment, version: d.version, reason: d.reason, row: d.row, eventId: d.eventId, belt: d.belt, eventAt: new Date(d.eventAt).toISOString() }),
      })),
      // A row too large for Kafka (it is whole in segment_dead_letters) goes out as the start of its JSON.
      {
        oversized: (m, err) => {
          const letter = JSON.parse(m.value) as Record<string, unknown>;
          return { key: m.key, value: JSON.stringify({ ...letter, row: null, rowTruncated: JSON.stringify(letter.row).slice(0, 10_000), rowBytes: err.bytes }) };
        },
      },
    );
  }
}

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

/** Dead letters of a segment, oldest first; redriven ones only when asked. */
export async function listDeadLetters(db: Queryable, project: string, segment: string, opts: { all?: boolean; limit?: number; after?: string } = {}): Promise<{ deadLetters: StoredDeadLetter[]; next: string | null }> {
  const limit = opts.limit ?? 100;
  const { rows } = await db.query<DeadLetterDbRow>(
    `SELECT id::text, segment, version, row_id, row, reason, event_id, belt, event_at, created_at, attempts, redriven_at
       FROM segment_dead_letters
      WHERE project = $1 AND segment = $2 AND ($3 OR redriven_at IS NULL) AND ($4::bigint IS NULL OR id > $4)
      ORDER BY id LIMIT $5`,
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
          ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED`,
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

export interface RowPage {
  rows: Record<string, unknown>[];
  next: string | null;
}

/**
 * A page of a segment's rows in id order, optionally filtered by column values (compared as
 * text). Column names are checked against the segment's columns before they reach SQL.
 */
export async function readRows(db: Queryable, seg: Segment, opts: { filters?: [string, string][]; limit?: number; after?: string }): Promise<RowPage> {
  const known = new Set([...seg.columns.map((c) => c.name), META_COLUMNS.updatedAt]);
  const params: unknown[] = [];
  const where: string[] = [];
  for (const [col, value] of opts.filters ?? []) {
    if (!known.has(col)) throw new DefinitionError('filter', `live segment ${seg.name} has no column ${JSON.stringify(col)}; columns: ${[...known].join(', ')}`);
    params.push(value);
    where.push(`t.${quoteIdent(col)}::text = $${params.length}`);
  }
  if (opts.after !== undefined) {
    params.push(opts.after);
    where.push(`t."id" > $${params.length}`);
  }
  const limit = opts.limit ?? 100;
  params.push(limit);
  const { rows } = await db.query<{ row: Record<string, unknown>; id: string }>(
    `SELECT t."id" AS id, to_jsonb(t) - '${META_COLUMNS.data}' - '${META_COLUMNS.eventId}' - '${META_COLUMNS.eventAt}' AS row
       FROM ${qualified(seg.table)} t ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY t."id" LIMIT $${params.length}`,
    params,
  );
  // In the schema's column order (jsonb sorts keys its own way), then updated_at.
  const order = [...seg.columns.map((c) => c.name), META_COLUMNS.updatedAt];
  const ordered = rows.map((r) => Object.fromEntries(order.filter((c) => c in r.row).map((c) => [c, r.row[c]])));
  return { rows: ordered, next: rows.length === limit ? rows[rows.length - 1].id : null };
}
