import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import { createApp, drainable, HttpError } from '../../src/http/app';

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

/** A body over the limit is refused with a 413 the client gets to read, on a real socket. */
describe('bodies over the limit', () => {
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    app = await createApp({ bodyLimit: 1000 });
    app.post('/echo', async (req) => req.body);
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => app.close());

  const post = (size: number, agent: http.Agent): Promise<{ status?: number; connection?: string; body: string; error?: string }> =>
    new Promise((resolve) => {
      const body = Buffer.alloc(size, 'a');
      const req = http.request(`${base}/echo`, { method: 'POST', agent, headers: { 'content-type': 'text/plain', 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: text }));
      });
      req.on('error', (err) => resolve({ body: '', error: err.message }));
      req.end(body);
    });

  it('reads a modest one to its end, so every 413 arrives and the connection stays usable', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 40; i++) {
      const r = await post(3000 + i * 20, agent);
      expect(r).toMatchObject({ status: 413, body: expect.stringContaining('"error":"payload_too_large"') });
      expect(r.connection).not.toBe('close');
    }
    agent.destroy();
  });

  it('cuts off one declared far over the limit', async () => {
    const r = await post(50_000, new http.Agent());
    if (r.status !== undefined) expect(r).toMatchObject({ status: 413, connection: 'close' });
    else expect(r.error).toMatch(/EPIPE|ECONNRESET/);
  });

  it('tells which declared lengths are drained', () => {
    expect(drainable('4000', 1000)).toBe(true);
    expect(drainable('4001', 1000)).toBe(false);
    expect(drainable(undefined, 1000)).toBe(false);
    expect(drainable('x', 1000)).toBe(false);
  });
});
