import type { FastifyInstance } from 'fastify';
import { createApp, HttpError } from '../../src/http/app';

// `cookie` is ESM only and jest's module sandbox cannot load it (see
// test/integration/schemas.test.ts); these routes neither set nor read cookies.
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

const INTERNAL = 'insert into beltline.profiles failed: connect ECONNREFUSED 10.0.0.3:5432 (postgres://postgres:s3cret@db/beltline)';

describe('error answers', () => {
  let app: FastifyInstance;
  let logged: unknown[][];

  beforeAll(async () => {
    app = await createApp({ bodyLimit: 1000 });
    app.get('/boom', async () => {
      throw new Error(INTERNAL);
    });
    app.get('/kafka-away', async () => {
      throw new HttpError(503, 'unavailable', 'Kafka is not reachable; retry later');
    });
    app.get('/typed', { schema: { querystring: { type: 'object', properties: { n: { type: 'integer' } } } } }, async () => ({}));
    await app.ready();
  });
  afterAll(() => app.close());

  beforeEach(() => {
    logged = [];
    jest.spyOn(app.log, 'error').mockImplementation((...args: unknown[]) => {
      logged.push(args);
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('answers an unexpected 500 with a generic message and an id, and logs the error under that id', async () => {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json<{ error: string; message: string; details: { errorId: string } }>();
    expect(body.error).toBe('internal_error');
    expect(body.details.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.message).toBe(`internal error; the server's log has the details under errorId ${body.details.errorId}`);
    for (const leak of ['ECONNREFUSED', '10.0.0.3', 's3cret', 'beltline.profiles']) expect(res.body).not.toContain(leak);

    expect(logged).toHaveLength(1);
    const [fields, msg] = logged[0] as [{ err: Error; errorId: string; url: string }, string];
    expect(msg).toBe('request failed');
    expect(fields.errorId).toBe(body.details.errorId);
    expect(fields.err.message).toBe(INTERNAL);
    expect(fields.url).toBe('/boom');
  });

  it('keeps the message of a 503 beltline raises on purpose, and of client errors', async () => {
    const away = await app.inject({ method: 'GET', url: '/kafka-away' });
    expect(away.statusCode).toBe(503);
    expect(away.json()).toEqual({ error: 'unavailable', message: 'Kafka is not reachable; retry later' });
    const bad = await app.inject({ method: 'GET', url: '/typed?n=x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/integer/), details: [{ path: '/n' }] });
    expect(logged).toEqual([]);
  });
});
