import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createApp } from '../../src/http/app';
import { registerAdminApi } from '../../src/http/api';
import { microRoutes } from '../../src/micro/routes';
import { profileRoutes } from '../../src/profiles/routes';
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

const ADMIN_KEY = 'access-test-admin-key-not-a-secret';
const ORIGIN = 'https://attacker.example';

/** Who may read personal data over HTTP: profiles need the admin key and answer no CORS. */
describe('profile reads', () => {
  const s = crypto.randomBytes(5).toString('hex');
  const anon = `access-anon-${s}`;
  const known = `access-known-${s}`;
  let pool: Pool;
  let app: FastifyInstance;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    // An anonymous id linked to a known profile: reading the anonymous id returns the known one.
    await pool.query(`INSERT INTO profiles (id, document) VALUES ($1, $2)`, [known, { email: `${s}@example.com` }]);
    await pool.query(`INSERT INTO profiles (id, canonical_id) VALUES ($1, $2)`, [anon, known]);
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, apiDeps(pool, ADMIN_KEY), [profileRoutes]);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await pool?.query('DELETE FROM profiles WHERE id = ANY($1)', [[anon, known]]);
    await pool?.end();
  });

  const routes = [`/projects/default/profiles/${anon}`, `/projects/default/profiles?path=email&value=${s}@example.com`];
  /** The URLs of before every admin route lived under /projects/:project, still answered for the default project. */
  const aliases = [`/api/v1/profiles/${anon}`, `/api/v1/profiles?path=email&value=${s}@example.com`];
  const withKey = { authorization: `Bearer ${ADMIN_KEY}` };

  it.each([...routes, ...aliases])('%s answers 401 without a key and 403 with a wrong one, in the error shape', async (url) => {
    const none = await app.inject({ method: 'GET', url });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: 'unauthorized', message: expect.stringMatching(/Authorization: Bearer/) });
    expect(none.body).not.toContain(s);

    const wrong = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN_KEY}x` } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toEqual({ error: 'forbidden', message: 'the admin key is not valid' });
    expect(wrong.body).not.toContain(s);
  });

  it('answers the linked profile with the key', async () => {
    const res = await app.inject({ method: 'GET', url: routes[0], headers: withKey });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: known, document: { email: `${s}@example.com` } });
    const found = await app.inject({ method: 'GET', url: routes[1], headers: withKey });
    expect(found.json()).toEqual([expect.objectContaining({ id: known })]);
  });

  it('answers the same on the old URLs, which take the project from ?project= (default "default")', async () => {
    for (const [i, alias] of aliases.entries()) {
      const current = await app.inject({ method: 'GET', url: routes[i], headers: withKey });
      expect(current.statusCode).toBe(200);
      for (const url of [alias, `${alias}${alias.includes('?') ? '&' : '?'}project=default`]) {
        const old = await app.inject({ method: 'GET', url, headers: withKey });
        expect(old.statusCode).toBe(200);
        expect(old.json()).toEqual(current.json());
      }
    }
    const missing = await app.inject({ method: 'GET', url: `/api/v1/profiles/nobody-${s}`, headers: withKey });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: `no profile with id "nobody-${s}"` });
  });

  it('answers 404 in the error shape for an unknown project, on the new URLs and the old', async () => {
    const unknown = [
      `/projects/nope/profiles/${anon}`,
      `/projects/nope/profiles?path=email&value=${s}@example.com`,
      `/api/v1/profiles/${anon}?project=nope`,
      `/api/v1/profiles?path=email&value=${s}@example.com&project=nope`,
    ];
    for (const url of unknown) {
      const res = await app.inject({ method: 'GET', url, headers: withKey });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'not_found', message: 'unknown project "nope"' });
      expect(res.body).not.toContain(s);
    }
  });

  it('documents the new URLs and marks the old ones deprecated, pointing to the new', async () => {
    type Operation = { summary?: string; deprecated?: boolean; security?: unknown; responses: Record<string, unknown>; parameters?: { name: string; in: string }[] };
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get?: Operation }> };
    for (const [path, successor] of [
      ['/api/v1/profiles/{id}', '/projects/{project}/profiles/{id}'],
      ['/api/v1/profiles', '/projects/{project}/profiles'],
    ]) {
      const current = doc.paths[successor]?.get;
      expect(current).toBeDefined();
      expect(current?.deprecated).toBeUndefined();
      expect(current?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'project', in: 'path' })]));
      expect(Object.keys(current?.responses ?? {})).toEqual(expect.arrayContaining(['200', '401', '403', '404']));
      const old = doc.paths[path]?.get;
      expect(old).toMatchObject({ deprecated: true, security: [{ adminKey: [] }, { projectAdminKey: [] }] });
      expect(old?.summary).toContain(`GET ${successor}`);
      expect(old?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'project', in: 'query' })]));
    }
  });

  it('advertises CORS to no origin for profiles, and still to trackers on the collector routes', async () => {
    const preflight = (url: string) =>
      app.inject({ method: 'OPTIONS', url, headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    for (const url of [...routes, ...aliases]) {
      const pre = await preflight(url);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const get = await app.inject({ method: 'GET', url, headers: { origin: ORIGIN, authorization: `Bearer ${ADMIN_KEY}` } });
      expect(get.statusCode).toBe(200);
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    }
    // The preflight of a tracker's POST is answered whatever routes this app has.
    const trackerPaths = ['/com.snowplowanalytics.snowplow/tp2', '/api/com.snowplowanalytics.snowplow/tp2', '/i'];
    // A project's collector paths too (trackers reach a project through its prefix).
    for (const url of [...trackerPaths, ...trackerPaths.map((p) => `/p/shop${p}`), '/api/v1/events/some-type']) {
      const pre = await preflight(url);
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(ORIGIN);
      expect(pre.headers['access-control-allow-credentials']).toBe('true');
    }
  });
});

/** /micro shows whole events and its reset hides them: every route takes the admin key. */
describe('micro routes', () => {
  let pool: Pool;
  let app: FastifyInstance;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, apiDeps(pool, ADMIN_KEY), [microRoutes]);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
  });

  const resetAt = async (): Promise<string> => (await pool.query<{ t: string }>('SELECT reset_at::text AS t FROM micro_state')).rows[0].t;

  it.each([
    ['GET', '/micro/all'],
    ['GET', '/micro/good'],
    ['GET', '/micro/bad'],
    ['POST', '/micro/reset'],
  ] as const)('%s %s answers 401 without a key, 403 with a wrong one, and changes nothing', async (method, url) => {
    const before = await resetAt();
    const none = await app.inject({ method, url });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized' });
    const wrong = await app.inject({ method, url, headers: { authorization: 'Bearer not-the-key' } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ error: 'forbidden' });
    expect(await resetAt()).toBe(before);
    const pre = await app.inject({ method: 'OPTIONS', url, headers: { origin: ORIGIN, 'access-control-request-method': method } });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers with the key', async () => {
    const all = await app.inject({ method: 'GET', url: '/micro/all', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toEqual({ total: expect.any(Number), good: expect.any(Number), bad: expect.any(Number) });
  });
});
