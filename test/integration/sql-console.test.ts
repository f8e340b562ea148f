import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool, withTransaction } from '../../src/db/pool';
import { registerAdminApi } from '../../src/http/api';
import { createApp } from '../../src/http/app';
import { projectReaderRole, projectSchema } from '../../src/projects/names';
import { projectRoutes } from '../../src/projects/routes';
import { Projects } from '../../src/projects/service';
import { ensureSegment } from '../../src/segments/catalog';
import type { SqlResult } from '../../src/sql/console';
import { sqlRoutes } from '../../src/sql/routes';
import { apiDeps } from '../support/api';

// `cookie` is ESM only and jest's module sandbox cannot load it (see schemas.test.ts); these
// routes neither set nor read cookies.
jest.mock('cookie', () => ({
  stringifySetCookie: () => {
    throw new Error('cookies are not available in this test');
  },
}));
jest.mock('@fastify/cookie', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fp = require('fastify-plugin') as (fn: () => Promise<void>, opts: { name: string }) => unknown;
  return { __esModule: true, default: fp(async () => undefined, { name: '@fastify/cookie' }) };
});

const ADMIN_KEY = 'sql-console-test-admin-key-not-a-secret';
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const CAP = 5;

interface ErrorBody {
  error: string;
  message: string;
  details?: { code?: string; position?: number };
}

/** POST /projects/:project/sql: read-only, capped, timed out, and confined to its project. */
describe('SQL console API', () => {
  const s = crypto.randomBytes(4).toString('hex');
  const names = { a: `sql-a-${s}`, b: `sql_b_${s}` };
  const segment = `visitors_${s}`;
  const table = `live_segment_${segment}`;
  let pool: Pool;
  let projects: Projects;
  let app: FastifyInstance;
  const keys: Record<'a' | 'b', string> = { a: '', b: '' };

  const sql = async (project: string, text: string, key = keys.a): Promise<{ status: number; body: SqlResult & ErrorBody }> => {
    const res = await app.inject({ method: 'POST', url: `/projects/${project}/sql`, headers: bearer(key), payload: { sql: text } });
    return { status: res.statusCode, body: res.json() };
  };
  const count = async (): Promise<number> =>
    (await projects.db(names.a).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    projects = new Projects(pool, loadConfig().databaseUrl, 2);
    const deps = apiDeps(pool, ADMIN_KEY, projects);
    deps.cfg = { ...deps.cfg, BELTLINE_SQL_MAX_ROWS: CAP, BELTLINE_SQL_TIMEOUT: 1000 };
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, deps, [projectRoutes, sqlRoutes]);
    await app.ready();
    for (const k of ['a', 'b'] as const) {
      const res = await app.inject({ method: 'POST', url: '/projects', headers: bearer(ADMIN_KEY), payload: { name: names[k], displayName: k } });
      expect(res.statusCode).toBe(201);
      keys[k] = res.json<{ adminKey: string }>().adminKey;
    }
    // A live segment's table is made at run time, after the migrations: the reader sees it too.
    await withTransaction(projects.db(names.a), async (client) => {
      await ensureSegment(client, names.a, segment, { type: 'object', properties: { id: { type: 'string' }, visits: { type: 'integer' } }, required: ['id'] });
      await client.query(
        `INSERT INTO ${table} (id, visits, _data, _event_id, _event_at) SELECT 'v' || g, g, '{}', 'e' || g, now() FROM generate_series(1, 12) g`,
      );
    });
    await projects.db(names.b).query(`INSERT INTO profiles (id) VALUES ('secret-of-b')`);
  });

  afterAll(async () => {
    for (const name of Object.values(names)) await projects?.drop(name).catch(() => undefined);
    await app?.close();
    await projects?.end();
    await pool?.end();
  });

  it("runs a SELECT on the project's tables, with typed columns, capped at BELTLINE_SQL_MAX_ROWS", async () => {
    const { status, body } = await sql(names.a, `SELECT id, visits, _event_at FROM ${table} ORDER BY visits`);
    expect(status).toBe(200);
    expect(body.columns).toEqual([
      { name: 'id', type: 'text' },
      { name: 'visits', type: 'bigint' },
      { name: '_event_at', type: 'timestamp with time zone' },
    ]);
    expect(body.rows.map((r) => r[0])).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    expect(body).toMatchObject({ rowCount: CAP, truncated: true });
    expect(body.ms).toBeGreaterThanOrEqual(0);

    const few = await sql(names.a, `SELECT count(*) AS n, 1 AS n FROM ${table} WHERE visits > 10`);
    expect(few.body).toMatchObject({ rows: [[2, 1]], rowCount: 1, truncated: false });
    expect(few.body.columns.map((c) => c.name)).toEqual(['n', 'n']);
    // What cannot be described as a view still runs: its rows name the columns.
    const plan = await sql(names.a, `EXPLAIN SELECT * FROM ${table}`);
    expect(plan.body.columns).toEqual([{ name: 'QUERY PLAN', type: 'unknown' }]);
    expect(String(plan.body.rows[0][0])).toMatch(/Scan/);
    expect((await sql(names.a, 'SHOW search_path')).body.rows).toEqual([[`"${projectSchema(names.a)}"`]]);
    const none = await sql(names.a, `SELECT id FROM ${table} WHERE false`);
    expect(none.body).toMatchObject({ columns: [{ name: 'id', type: 'text' }], rows: [], rowCount: 0 });
  });

  it('refuses writes, DDL and a second statement with a 400, and nothing changes', async () => {
    for (const text of [
      `INSERT INTO ${table} (id, _data, _event_id, _event_at) VALUES ('x', '{}', 'e', now())`,
      `DELETE FROM ${table}`,
      `WITH gone AS (DELETE FROM ${table} RETURNING id) SELECT * FROM gone`,
      'CREATE TABLE sneaky (x int)',
      `SELECT 1; DROP TABLE ${table}`,
      `SELECT set_config('role', 'postgres', true), (SELECT count(*) FROM beltline__instance.projects)`,
      'RESET ROLE',
    ]) {
      const { status, body } = await sql(names.a, text);
      expect({ text, status, error: body.error }).toEqual({ text, status: 400, error: 'bad_request' });
      expect(body.message).toMatch(/read-only|one statement at a time/);
    }
    expect(await count()).toBe(12);
    const tables = await projects.db(names.a).query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'sneaky'`, [projectSchema(names.a)]);
    expect(tables.rowCount).toBe(0);
  });

  it('runs no second statement even while describing the query (a session lock would outlive the rollback)', async () => {
    const lock = crypto.randomInt(1, 2 ** 31 - 1);
    const { status } = await sql(names.a, `SELECT 1; SELECT pg_advisory_lock(${lock})`);
    expect(status).toBe(400);
    const held = await pool.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $1`, [lock]);
    expect(held.rowCount).toBe(0);
  });

  it("gives a syntax error PostgreSQL's message and position", async () => {
    const { status, body } = await sql(names.a, 'SELECT id FROM profiles WHER id = 1');
    expect(status).toBe(400);
    expect(body.message).toMatch(/syntax error at or near "id"/);
    expect(body.details).toMatchObject({ code: '42601', position: 30 });
  });

  it('cancels a query past BELTLINE_SQL_TIMEOUT with a 400 naming it', async () => {
    const started = Date.now();
    const { status, body } = await sql(names.a, 'SELECT pg_sleep(10)');
    expect(status).toBe(400);
    expect(body.message).toMatch(/1 s \(BELTLINE_SQL_TIMEOUT\)/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("keeps a project to its own schema: another project's tables and the registry are refused", async () => {
    const other = await sql(names.a, `SELECT * FROM ${projectSchema(names.b)}.profiles`);
    expect(other.status).toBe(400);
    expect(other.body.message).toMatch(/permission denied for schema/);
    expect((await sql(names.a, 'SELECT * FROM beltline__instance.projects')).status).toBe(400);
    expect((await sql(names.a, "SELECT pg_read_file('/etc/hostname')")).status).toBe(400);
    // B's own query sees its row; A's key cannot use B's console at all.
    expect((await sql(names.b, 'SELECT id FROM profiles', keys.b)).body.rows).toEqual([['secret-of-b']]);
    expect((await sql(names.b, 'SELECT id FROM profiles', keys.a)).status).toBe(403);
  });

  it("lists the project's tables with their columns, a live segment's table marked", async () => {
    const res = await app.inject({ method: 'GET', url: `/projects/${names.a}/sql/schema`, headers: bearer(keys.a) });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ schema: string; tables: { name: string; segment: unknown; columns: { name: string; type: string }[] }[] }>();
    expect(body.schema).toBe(projectSchema(names.a));
    const seg = body.tables.find((t) => t.name === table);
    expect(seg).toMatchObject({ segment: { name: segment, version: 1 } });
    expect(seg?.columns.slice(0, 2)).toEqual([
      { name: 'id', type: 'text' },
      { name: 'visits', type: 'bigint' },
    ]);
    expect(body.tables.find((t) => t.name === 'profiles')?.columns.map((c) => c.name).slice(0, 3)).toEqual(['id', 'document', 'stamps']);
    // Partitions (events_pYYYYMM) are the events table's business, not the tree's.
    expect(body.tables.filter((t) => t.name.startsWith('events')).map((t) => t.name)).toEqual(['events']);
  });

  it("drops the project's reader role with the project", async () => {
    const name = `sql-c-${s}`;
    const res = await app.inject({ method: 'POST', url: '/projects', headers: bearer(ADMIN_KEY), payload: { name, displayName: 'c' } });
    expect(res.statusCode).toBe(201);
    const role = async (): Promise<number | null> => (await pool.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [projectReaderRole(name)])).rowCount;
    expect(await role()).toBe(1);
    await projects.drop(name);
    expect(await role()).toBe(0);
  });
});
