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

  const routes = [`/api/v1/profiles/${anon}`, `/api/v1/profiles?path=email&value=${s}@example.com`];

  it.each(routes)('%s answers 401 without a key and 403 with a wrong one, in the error shape', async (url) => {
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
    const res = await app.inject({ method: 'GET', url: routes[0], headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: known, document: { email: `${s}@example.com` } });
    const found = await app.inject({ method: 'GET', url: routes[1], headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(found.json()).toEqual([expect.objectContaining({ id: known })]);
  });

  it('advertises CORS to no origin for profiles, and still to trackers on the collector routes', async () => {
    const preflight = (url: string) =>
      app.inject({ method: 'OPTIONS', url, headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    for (const url of routes) {
      const pre = await preflight(url);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const get = await app.inject({ method: 'GET', url, headers: { origin: ORIGIN, authorization: `Bearer ${ADMIN_KEY}` } });
      expect(get.statusCode).toBe(200);
      expect(get.headers['access-control-allow-origin']).toBeUndefined();
    }
    // The preflight of a tracker's POST is answered whatever routes this app has.
    for (const url of ['/com.snowplowanalytics.snowplow/tp2', '/api/v1/events/some-type']) {
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
