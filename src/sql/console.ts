/**
 * The SQL console's pure part: what a query's fetched rows become as an answer, and which of
 * PostgreSQL's errors are the query's fault (a 400 saying why) rather than the server's.
 */
import { HttpError } from '../http/app';

export interface SqlColumn {
  name: string;
  /** PostgreSQL's name of the type (`integer`, `timestamp with time zone`), or `unknown`. */
  type: string;
}

export interface SqlResult {
  columns: SqlColumn[];
  /** One array of cells per row, in the columns' order (names may repeat: `SELECT 1 a, 2 a`). */
  rows: unknown[][];
  rowCount: number;
  /** More rows were there than the cap; only the first `rowCount` were read. */
  truncated: boolean;
  ms: number;
}

/** A row as the sql_console() function returns it: its cells, and on the first row the column names. */
export interface FetchedRow {
  names: string[] | null;
  cells: unknown[];
}

/**
 * The answer from what the query returned (at most cap + 1 rows) and, when the query could be
 * described, its columns' names and types. A description that does not match the rows (it
 * cannot be had for every statement: SHOW, EXPLAIN, repeated names) gives way to the rows' names.
 */
export function shapeResult(described: SqlColumn[] | undefined, fetched: FetchedRow[], cap: number, ms: number): SqlResult {
  const rows = fetched.slice(0, cap).map((r) => r.cells);
  const names = fetched[0]?.names;
  let columns: SqlColumn[];
  if (described && (!names || (names.length === described.length && names.every((n, i) => n === described[i].name)))) columns = described;
  else columns = (names ?? []).map((name) => ({ name, type: 'unknown' }));
  return { columns, rows, rowCount: rows.length, truncated: fetched.length > cap, ms: Math.round(ms * 10) / 10 };
}

interface PgError {
  code: string;
  message: string;
  position?: string;
  internalPosition?: string;
  hint?: string;
}

function isPgError(err: unknown): err is PgError {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

// Connection, resources, operator intervention, system and internal errors: the server's trouble.
const SERVER_CLASSES = ['08', '53', '55', '57P', '58', 'XX', 'F0'];

function formatDuration(ms: number): string {
  return ms < 1000 || ms % 1000 !== 0 ? `${ms} ms` : `${ms / 1000} s`;
}

const READ_ONLY = 'the SQL console is read-only';

/**
 * The 400 a query's own error deserves, with PostgreSQL's message and where in the text it
 * points (1-based `position`, as PostgreSQL counts); undefined for an error of the server's.
 */
export function sqlProblem(err: unknown, timeoutMs: number): HttpError | undefined {
  if (!isPgError(err)) return undefined;
  const { code, message } = err;
  // 57014 is also an operator's cancel; only the statement timeout's is the query's doing.
  if (code === '57014' && /statement timeout/.test(message)) {
    return new HttpError(400, 'bad_request', `the query ran longer than the SQL console's ${formatDuration(timeoutMs)} (BELTLINE_SQL_TIMEOUT) and was cancelled`, { code });
  }
  // migrations/018_sql_console.sql leaves it out where beltline's role may not create roles.
  if (code === '42883' && /function .*sql_console\(/.test(message)) {
    return new HttpError(501, 'not_configured', "the SQL console is not set up in this project's schema: the role beltline connects as may not create roles (see docs/console.md)");
  }
  if (code === '57014' || SERVER_CLASSES.some((c) => code.startsWith(c))) return undefined;
  const pos = Number(err.position ?? err.internalPosition);
  const details = { code, ...(Number.isInteger(pos) && pos > 0 ? { position: pos } : {}), ...(err.hint ? { hint: err.hint } : {}) };
  const refused = /^cannot open (.+) query as cursor$/.exec(message);
  if (code === '42P11' && refused) {
    return new HttpError(400, 'bad_request', `${READ_ONLY}: it runs one query (SELECT, VALUES, TABLE, WITH, SHOW or EXPLAIN); ${refused[1]} is not run`, details);
  }
  if (code === '42P11' && /multi-query/.test(message)) {
    return new HttpError(400, 'bad_request', `the SQL console runs one statement at a time: ${message}`, details);
  }
  if (code === '25006') return new HttpError(400, 'bad_request', `${READ_ONLY}: ${message}`, details);
  if (code === '42501') return new HttpError(400, 'bad_request', `${READ_ONLY} and sees this project's schema only: ${message}`, details);
  return new HttpError(400, 'bad_request', message, details);
}
