import type { Pool, PoolClient } from 'pg';
import { projectSchema } from '../projects/names';
import { DefinitionError } from '../shared/errors';
import { quoteIdent } from '../db/sql';
import { evolve, META_COLUMNS, segmentColumns, tableName,  type Column } from './columns';

/** Live segments, I/O: the catalog of segments and versions, and their tables (DDL). */

export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

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

/** A project's segment table, qualified with the project's schema and quoted. */
export const qualified = (project: string, table: string): string => `${quoteIdent(projectSchema(project))}.${quoteIdent(table)}`;

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
    const { rows: n } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualified(r.project, r.table_name)}`);
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

async function createTable(client: PoolClient, project: string, table: string, columns: Column[]): Promise<void> {
  const cols = columns.filter((c) => c.name !== 'id').map(columnDdl);
  await client.query(
    `CREATE TABLE ${qualified(project, table)} (
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
    await createTable(client, project, table, columns);
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
      { changes: incompatible, version: current.version },
    );
  }
  const table = qualified(current.project, current.table);
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

