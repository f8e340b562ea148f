import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { eventTypeRoutes } from '../../src/eventtypes/routes';
import { registerAdminApi } from '../../src/http/api';
import { createApp } from '../../src/http/app';
import { metricsRoutes } from '../../src/metrics';
import { microRoutes } from '../../src/micro/routes';
import { profileRoutes } from '../../src/profiles/routes';
import { projectRoutes } from '../../src/projects/routes';
import { Projects } from '../../src/projects/service';
import { segmentRoutes } from '../../src/segments/routes';
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

const ADMIN_KEY = 'projects-test-admin-key-not-a-secret';
const instance = { authorization: `Bearer ${ADMIN_KEY}` };
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

interface Made {
  name: string;
  schema: string;
  adminKey: string;
  writeKey: string;
}

/** Projects over HTTP: creating them with keys, and keys that open one project only. */
describe('projects and keys', () => {
  const s = crypto.randomBytes(4).toString('hex');
  const names = { a: `shop-a-${s}`, b: `shop_b_${s}` };
  let pool: Pool;
  let projects: Projects;
  let app: FastifyInstance;
  const made: Record<'a' | 'b', Made> = {} as Record<'a' | 'b', Made>;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    projects = new Projects(pool, loadConfig().databaseUrl, 2);
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, apiDeps(pool, ADMIN_KEY, projects), [projectRoutes, eventTypeRoutes, profileRoutes, segmentRoutes, microRoutes, metricsRoutes]);
    await app.ready();
    for (const k of ['a', 'b'] as const) {
      const res = await app.inject({ method: 'POST', url: '/projects', headers: instance, payload: { name: names[k], displayName: `Shop ${k}` } });
      expect(res.statusCode).toBe(201);
      made[k] = res.json<Made>();
    }
  });

  afterAll(async () => {
    for (const name of Object.values(names)) await projects?.drop(name).catch(() => undefined);
    await app?.close();
    await projects?.end();
    await pool?.end();
  });

  it('creates a project with its own schema and two keys, shown once and stored hashed', async () => {
    expect(made.a).toMatchObject({ name: names.a, displayName: 'Shop a', schema: `beltline_${names.a}`, hasAdminKey: true, hasWriteKey: true });
    expect(made.a.adminKey).toMatch(/^bla_[A-Za-z0-9_-]{43}$/);
    expect(made.a.writeKey).toMatch(/^blw_[A-Za-z0-9_-]{43}$/);
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1', [made.a.schema]);
    expect(rows[0].n).toBeGreaterThan(10);
    const stored = await pool.query<{ row: string }>('SELECT row_to_json(p)::text AS row FROM beltline__instance.projects p WHERE name = $1', [names.a]);
    expect(stored.rows[0].row).not.toContain(made.a.adminKey);
    expect(stored.rows[0].row).not.toContain(made.a.writeKey);
    // Shown once: reading the project never shows a key again.
    const read = await app.inject({ method: 'GET', url: `/projects/${names.a}`, headers: instance });
    expect(read.statusCode).toBe(200);
    expect(read.json()).not.toHaveProperty('adminKey');
    const list = await app.inject({ method: 'GET', url: '/projects', headers: instance });
    expect(list.json<{ name: string }[]>().map((p) => p.name)).toEqual(expect.arrayContaining(['default', names.a, names.b]));
    expect(list.body).not.toContain(made.a.adminKey);
  });

  it('refuses a name taken (409), and hostile names with a 400 that states the rule', async () => {
    const again = await app.inject({ method: 'POST', url: '/projects', headers: instance, payload: { name: names.a } });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'conflict', details: { field: 'name' } });
    for (const name of ['', 'A', 'Shop', '1abc', '-x', 'a;drop schema beltline', 'a"b', '../etc', 'x'.repeat(41), 'ünï', 'a b', 'a.b', "a'b", 'a/b']) {
      const res = await app.inject({ method: 'POST', url: '/projects', headers: instance, payload: { name } });
      expect({ name, status: res.statusCode }).toEqual({ name, status: 400 });
      expect(res.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('lowercase letters, digits'), details: { field: 'name' } });
    }
    // In a path, a hostile name is refused by the route's schema before anything reads it.
    for (const url of ['/projects/A/event-types', `/projects/${'x'.repeat(41)}/event-types`, '/projects/a%3Bdrop/event-types', '/projects/a%22b/event-types']) {
      const res = await app.inject({ method: 'GET', url, headers: instance });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 400 });
      expect(res.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('project') });
    }
    // A dot-dot segment is normalised away before routing: it names no project route at all.
    expect((await app.inject({ method: 'GET', url: '/projects/%2e%2e/event-types', headers: instance })).statusCode).toBe(404);
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name LIKE 'beltline_%drop%'");
    expect(rows[0].n).toBe(0);
  });

  it("a project's admin key opens its project's routes and data reads, and nothing else", async () => {
    const a = bearer(made.a.adminKey);
    const mine = [`/projects/${names.a}`, `/projects/${names.a}/event-types`, `/projects/${names.a}/segments`, `/projects/${names.a}/profiles?path=x&value=1`, `/api/v1/profiles?path=x&value=1&project=${names.a}`, `/micro/all?project=${names.a}`];
    for (const url of mine) {
      const res = await app.inject({ method: 'GET', url, headers: a });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 200 });
    }
    const theirs = [
      `/projects/${names.b}`,
      `/projects/${names.b}/event-types`,
      `/projects/${names.b}/segments`,
      `/projects/default/event-types`,
      `/api/v1/profiles?path=x&value=1&project=${names.b}`,
      // The short routes' project is default when ?project= is absent.
      '/api/v1/profiles?path=x&value=1',
      '/micro/all',
      `/micro/all?project=${names.b}`,
    ];
    for (const url of theirs) {
      const res = await app.inject({ method: 'GET', url, headers: a });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 403 });
      expect(res.json()).toMatchObject({ error: 'forbidden', message: expect.stringContaining(names.a) });
    }
    // Instance routes take the instance key alone.
    for (const [method, url] of [['GET', '/projects'], ['GET', '/metrics'], ['DELETE', `/projects/${names.a}`]] as const) {
      const res = await app.inject({ method, url, headers: a });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 403 });
    }
    const created = await app.inject({ method: 'POST', url: '/projects', headers: a, payload: { name: `other-${s}` } });
    expect(created.statusCode).toBe(403);
    // A write key is no admin key.
    expect((await app.inject({ method: 'GET', url: `/projects/${names.a}/event-types`, headers: bearer(made.a.writeKey) })).statusCode).toBe(403);
    // No key: 401 everywhere.
    for (const url of [...mine, '/projects']) expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
  });

  it('keeps two projects with the same type and segment names apart: definitions, tables and data', async () => {
    // A name of this run's: other test files define segments in the default project.
    const plans = `plans${s}`;
    const schema = { type: 'object', properties: { id: { type: 'string' }, plan: { type: 'string' } }, required: ['id'] };
    for (const k of ['a', 'b'] as const) {
      const res = await app.inject({
        method: 'POST',
        url: `/projects/${names[k]}/event-types`,
        headers: bearer(made[k].adminKey),
        payload: { name: plans, type: 'live_segment', schema: JSON.stringify(schema), description: `plans of ${k}` },
      });
      expect(res.statusCode).toBe(201);
    }
    const read = async (k: 'a' | 'b'): Promise<{ description?: string }> =>
      (await app.inject({ method: 'GET', url: `/projects/${names[k]}/event-types/${plans}`, headers: bearer(made[k].adminKey) })).json();
    expect((await read('a')).description).toBe('plans of a');
    expect((await read('b')).description).toBe('plans of b');
    // Each project's live-segment table is in its own schema; the default project has none.
    const { rows } = await pool.query<{ table_schema: string }>(
      'SELECT table_schema FROM information_schema.tables WHERE table_name LIKE $1 ORDER BY table_schema',
      [`live_segment_${plans}%`],
    );
    expect(rows.map((r) => r.table_schema)).toEqual([made.a.schema, made.b.schema].sort());
    // A row written in a's table is seen through a's routes only.
    await projects.db(names.a).query(`INSERT INTO "live_segment_${plans}" (id, plan, _data, _event_id, _event_at) VALUES ('u1', 'pro', '{}', 'e1', now())`);
    const rowsOf = async (k: 'a' | 'b'): Promise<unknown[]> =>
      (await app.inject({ method: 'GET', url: `/projects/${names[k]}/segments/${plans}/rows`, headers: bearer(made[k].adminKey) })).json<{ rows: unknown[] }>().rows;
    expect(await rowsOf('a')).toEqual([expect.objectContaining({ id: 'u1', plan: 'pro' })]);
    expect(await rowsOf('b')).toEqual([]);
    // And the default project does not see the type at all.
    expect((await app.inject({ method: 'GET', url: `/projects/default/event-types/${plans}`, headers: instance })).statusCode).toBe(404);
  });

  it('rotates keys: the new ones work at once, the old ones never again', async () => {
    const before = made.b.adminKey;
    const res = await app.inject({ method: 'POST', url: `/projects/${names.b}/keys`, headers: bearer(before), payload: { keys: ['admin'] } });
    expect(res.statusCode).toBe(200);
    const { adminKey, writeKey } = res.json<{ adminKey: string; writeKey?: string }>();
    expect(adminKey).toMatch(/^bla_/);
    expect(writeKey).toBeUndefined();
    expect((await app.inject({ method: 'GET', url: `/projects/${names.b}`, headers: bearer(before) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: `/projects/${names.b}`, headers: bearer(adminKey) })).statusCode).toBe(200);
    made.b.adminKey = adminKey;
  });

  it('publishes the keys in the OpenAPI document', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, { security?: Record<string, unknown>[] }>>;
    }>();
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(['adminKey', 'projectAdminKey']));
    expect(doc.paths['/projects'].post.security).toEqual([{ adminKey: [] }]);
    expect(doc.paths['/projects/{project}/event-types'].get.security).toEqual([{ adminKey: [] }, { projectAdminKey: [] }]);
  });

  it('deletes a project: its schema and every table in it are dropped, the default project cannot be', async () => {
    expect((await app.inject({ method: 'DELETE', url: '/projects/default', headers: instance })).statusCode).toBe(400);
    const res = await app.inject({ method: 'DELETE', url: `/projects/${names.b}`, headers: instance });
    expect(res.statusCode).toBe(204);
    const { rows } = await pool.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [made.b.schema]);
    expect(rows).toEqual([]);
    expect((await app.inject({ method: 'GET', url: `/projects/${names.b}/event-types`, headers: instance })).statusCode).toBe(404);
    // Its keys open nothing any more.
    expect((await app.inject({ method: 'GET', url: `/projects/${names.b}`, headers: bearer(made.b.adminKey) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/projects/${names.b}`, headers: instance })).statusCode).toBe(404);
    // The other project is untouched.
    expect((await app.inject({ method: 'GET', url: `/projects/${names.a}/event-types/plans${s}`, headers: bearer(made.a.adminKey) })).statusCode).toBe(200);
  });
});
