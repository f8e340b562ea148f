import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { beltRoutes } from '../../src/belts/routes';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { eventTypeRoutes } from '../../src/eventtypes/routes';
import { Partitions } from '../../src/events/partitions';
import { insertEvents } from '../../src/events/store';
import { createApp } from '../../src/http/app';
import { registerAdminApi } from '../../src/http/api';
import { Projects } from '../../src/projects/service';
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

const ADMIN_KEY = 'belt-try-test-admin-key-not-a-secret';

/** POST /projects/:project/belts/try: the production sandbox on one event, and nothing written. */
describe('trying a belt on an event', () => {
  const s = crypto.randomBytes(4).toString('hex');
  const input = `try-in-${s}`;
  const belt = `try-${s}`;
  const user = `try-user-${s}`;
  const storedId = `try-ev-${s}`;
  let pool: Pool;
  let projects: Projects;
  let app: FastifyInstance;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    projects = new Projects(pool, loadConfig().databaseUrl, 2);
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, apiDeps(pool, ADMIN_KEY, projects), [eventTypeRoutes, beltRoutes]);
    await app.ready();
    const type = await call('POST', '/projects/default/event-types', {
      name: input,
      displayName: 'belt try input',
      eventIdExpression: '$.id',
      timestampExpression: '#nowMillis()',
      correlationIdExpression: '$.user',
    });
    expect(type.statusCode).toBe(201);
    await pool.query('INSERT INTO profiles (id, document) VALUES ($1, $2)', [user, { visits: 2 }]);
    const now = Date.now();
    await new Partitions(pool).ensure([now]);
    const client = await pool.connect();
    try {
      const headers = { 'grnry-correlation-id': user, 'grnry-event-id': storedId, 'grnry-created': now, 'grnry-event-type': input };
      await insertEvents(client, [{ eventId: storedId, eventType: input, correlationId: user, created: now, headers, payload: { id: storedId, user, page: '/stored' } }], `try-batch-${s}`);
    } finally {
      client.release();
    }
  });

  afterAll(async () => {
    await app?.close();
    await pool?.query('DELETE FROM profiles WHERE id = $1', [user]);
    await pool?.query('DELETE FROM events WHERE event_id = $1', [storedId]);
    await pool?.query('DELETE FROM event_ids WHERE event_id = $1', [storedId]);
    await call('DELETE', `/projects/default/event-types/${input}`).catch(() => undefined);
    await projects?.end();
    await pool?.end();
  });

  function call(method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) {
    return app.inject({ method, url, headers: { authorization: `Bearer ${ADMIN_KEY}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
  }
  const definition = (extractorFn: string) => ({ name: belt, beltType: 'js-callback', eventTypes: [input], outputTypes: [], extractorFn });
  const tryIt = (extractorFn: string, event: unknown, extra: Record<string, unknown> = {}) => call('POST', '/projects/default/belts/try', { definition: definition(extractorFn), event, ...extra });

  const JS = `
    function execute(headers, payload, profile) {
      console.log('saw', payload.page, profile && profile.visits);
      return [
        Update(headers['grnry-correlation-id'], ['lastPage'], payload.page),
        Action('notify', { page: payload.page }, { key: headers['grnry-event-id'] }),
      ];
    }`;

  it('runs a JavaScript belt on a pasted event with the stored profile of its user, and answers its outputs', async () => {
    const res = await tryIt(JS, { headers: { 'grnry-correlation-id': user }, payload: { page: '/pasted' } });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ eventId: string; profile: unknown; updates: unknown[]; actions: unknown[]; logs: string[]; outputs: unknown[]; durationMs: number }>();
    expect(body.profile).toEqual({ visits: 2 });
    expect(body.logs).toEqual(['saw /pasted 2']);
    expect(body.outputs).toHaveLength(2);
    expect(body.updates).toHaveLength(1);
    expect(JSON.stringify(body.updates[0])).toContain('/pasted');
    expect(body.actions).toEqual([{ name: 'notify', payload: { page: '/pasted' }, key: body.eventId }]);
    expect(body.eventId).toMatch(/^try-/);
    expect(body.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('runs it on a stored event, by id, with that event\'s headers; a given profile replaces the stored one', async () => {
    const res = await tryIt(JS, { eventType: input, eventId: storedId }, { profile: { visits: 9 } });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ eventId: string; correlationId: string; logs: string[]; actions: unknown[] }>();
    expect(body).toMatchObject({ eventId: storedId, correlationId: user, logs: ['saw /stored 9'] });
    expect(body.actions).toEqual([{ name: 'notify', payload: { page: '/stored' }, key: storedId }]);
    const missing = await tryIt(JS, { eventType: input, eventId: `${storedId}-nope` });
    expect(missing.statusCode).toBe(404);
    const otherType = await tryIt(JS, { eventType: 'snowplow', eventId: storedId });
    expect(otherType.statusCode).toBe(400);
  });

  it('answers a belt that throws with its error and logs', async () => {
    const res = await tryIt("function execute(h, p) { console.log('before'); throw new Error('no pages today'); }", { payload: {} });
    expect(res.statusCode).toBe(400);
    const err = res.json<{ error: string; message: string; details: { kind: string; logs: string[] } }>();
    expect(err).toMatchObject({ error: 'belt_failed', message: 'no pages today', details: { kind: 'exception', logs: ['before'] } });
  });

  it('cuts an endless loop off at the production CPU limit', async () => {
    const res = await tryIt('function execute() { for (;;) {} }', { payload: {} });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'belt_failed', details: { kind: 'timeout' } });
    expect(res.json<{ message: string }>().message).toMatch(/CPU budget of 1000 ms/);
  });

  it('refuses what would not be stored: a syntax error, an output breaking the rules, no event', async () => {
    const syntax = await tryIt('function execute( {', { payload: {} });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json()).toMatchObject({ error: 'bad_request', details: { field: 'extractorFn' } });
    const direct = await tryIt("function execute() { return DirectUpdate('elsewhere', { id: 'x' }); }", { payload: {} });
    expect(direct.statusCode).toBe(400);
    expect(direct.json<{ message: string }>().message).toMatch(/not in this belt's outputTypes/);
    const none = await tryIt(JS, {});
    expect(none.statusCode).toBe(400);
  });

  it('wrote nothing: no belt, no outputs, the profile as it was', async () => {
    expect((await pool.query('SELECT 1 FROM belts WHERE name = $1', [belt])).rowCount).toBe(0);
    expect((await pool.query('SELECT 1 FROM belt_outputs WHERE belt = $1', [belt])).rowCount).toBe(0);
    expect((await pool.query('SELECT document FROM profiles WHERE id = $1', [user])).rows).toEqual([{ document: { visits: 2 } }]);
    expect((await pool.query('SELECT 1 FROM profile_history WHERE profile_id = $1', [user])).rowCount).toBe(0);
    expect((await pool.query("SELECT 1 FROM profile_changes WHERE event_id = $1 OR event_id LIKE 'try-%'", [storedId])).rowCount).toBe(0);
  });
});
