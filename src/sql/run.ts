import { performance } from 'node:perf_hooks';
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { quoteIdent } from '../db/sql';
import { projectReaderRole, projectSchema } from '../projects/names';
import { shapeResult, type FetchedRow, type SqlColumn, type SqlResult } from './console';

export interface SqlLimits {
  timeoutMs: number;
  maxRows: number;
}

/** The transaction's settings: the project's schema first, as its reader, under the timeout. */
async function confine(client: PoolClient, project: string, timeoutMs: number): Promise<void> {
  await client.query(`SET LOCAL ROLE ${quoteIdent(projectReaderRole(project))}`);
  await client.query(`SET LOCAL search_path TO ${quoteIdent(projectSchema(project))}`);
  await client.query(`SELECT set_config('statement_timeout', $1, true)`, [String(timeoutMs)]);
}

/** pg sends a query without parameters by the simple protocol, which runs several statements, unless told. */
function extended(text: string): QueryConfig {
  // `queryMode` is pg's (8.11+), not yet in its types.
  const config: QueryConfig & { queryMode: 'extended' } = { text, queryMode: 'extended' };
  return config;
}

/**
 * The query's columns, as PostgreSQL resolves them, without running it: a temporary view of
 * it, made and rolled back. Undefined for what cannot be a view (SHOW, EXPLAIN, an error); the
 * run then tells what is wrong. The extended protocol takes one statement only, so the text
 * cannot add a statement of its own to this one.
 */
async function describe(client: PoolClient, project: string, sql: string, timeoutMs: number): Promise<SqlColumn[] | undefined> {
  await client.query('BEGIN');
  try {
    await confine(client, project, timeoutMs);
    await client.query(extended(`CREATE TEMP VIEW beltline_sql_console AS ${sql}`));
    const { rows } = await client.query<SqlColumn>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = 'pg_temp.beltline_sql_console'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    return rows;
  } catch {
    return undefined;
  } finally {
    await client.query('ROLLBACK');
  }
}

/**
 * Runs one read-only query on a project's schema and rolls back. The query itself runs inside
 * the schema's sql_console() function (migrations/018_sql_console.sql), as the project's reader
 * role in a read-only transaction; PostgreSQL's errors are thrown as they come (see sqlProblem).
 */
export async function runSql(db: Pool, project: string, sql: string, limits: SqlLimits): Promise<SqlResult> {
  const client = await db.connect();
  let broken = false;
  try {
    const described = await describe(client, project, sql, limits.timeoutMs);
    await client.query('BEGIN READ ONLY');
    try {
      await confine(client, project, limits.timeoutMs);
      const started = performance.now();
      const { rows } = await client.query<FetchedRow>({
        text: `SELECT names, cells FROM ${quoteIdent(projectSchema(project))}.sql_console($1, $2)`,
        values: [sql, limits.maxRows],
      });
      return shapeResult(described, rows, limits.maxRows, performance.now() - started);
    } finally {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
    }
  } finally {
    // A connection that could not roll back is not given to the next query.
    client.release(broken);
  }
}

export interface SchemaTable {
  name: string;
  kind: 'table' | 'view' | 'materialized view' | 'foreign table';
  /** The live segment (and its version) whose table this is, if it is one. */
  segment: { name: string; version: number } | null;
  columns: SqlColumn[];
}

/** The tables and views of a project's schema with their columns, for the console's schema tree. */
export async function readSchema(db: Pool, project: string): Promise<SchemaTable[]> {
  const { rows } = await db.query<SchemaTable>(
    `SELECT c.relname AS name,
            CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind,
            (SELECT json_build_object('name', s.name, 'version', s.version) FROM live_segments s WHERE s.table_name = c.relname) AS segment,
            coalesce((SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum)
                        FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '[]') AS columns
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
      ORDER BY c.relname`,
    [projectSchema(project)],
  );
  return rows;
}
