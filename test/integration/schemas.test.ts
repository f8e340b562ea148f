import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createApp } from '../../src/http/app';
import { readSchemaDir, SCHEMAS_DIR } from '../../src/schemas/dir';
import { schemaUri, SELF_DESC_METASCHEMA } from '../../src/schemas/iglu';
import { InvalidSchemaError, REPOSITORY, SchemaConflictError, SchemaRegistry, type SchemaViolation } from '../../src/schemas/registry';
import { registerAdminApi } from '../../src/http/api';
import { schemaRoutes } from '../../src/schemas/routes';
import { apiDeps } from '../support/api';

// `cookie` is ESM only: @fastify/cookie loads it with a dynamic import() and light-my-request (behind
// fastify.inject) with require(), and jest's module sandbox supports neither (without
// --experimental-vm-modules). These routes neither set nor read cookies: stand-ins take their place.
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

const ADMIN_KEY = 'schemas-test-admin-key-not-a-secret';
// A vendor of its own per run: schemas are immutable, so runs must not share keys.
const VENDOR = `com.test.s${crypto.randomBytes(5).toString('hex')}`;

const orderSchema = (version = '1-0-0', extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  $schema: SELF_DESC_METASCHEMA,
  description: 'An order placed in the test shop',
  self: { vendor: VENDOR, name: 'order_placed', format: 'jsonschema', version },
  type: 'object',
  properties: { orderId: { type: 'string' }, total: { type: 'number', minimum: 0 } },
  required: ['orderId'],
  additionalProperties: false,
  ...extra,
});

/** A pool whose queries are counted, to see how many round trips validation makes. */
function counting(pool: Pool): { pool: Pool; count: () => number } {
  let n = 0;
  const proxy = new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (...args: Parameters<Pool['query']>) => {
          n++;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { pool: proxy, count: () => n };
}

describe('schema registry (PostgreSQL)', () => {
  let pool: Pool;
  let registry: SchemaRegistry;
  let tmp: string;

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 4);
    await migrate(pool);
    registry = new SchemaRegistry(pool);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-schemas-'));
  });

  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Test schemas only: nothing else uses this run's vendor.
    await pool?.query('DELETE FROM schemas WHERE vendor = $1', [VENDOR]);
    await pool?.end();
  });

  const writeSchema = (schema: Record<string, unknown>): void => {
    const self = schema.self as { vendor: string; name: string; format: string; version: string };
    const dir = path.join(tmp, self.vendor, self.name, self.format);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, self.version), JSON.stringify(schema, null, 2));
  };

  it('seeds the shipped folder: every schema stored as it is in the file, a second seed adds nothing', async () => {
    await registry.seedFromDir(SCHEMAS_DIR);
    expect(await registry.seedFromDir(SCHEMAS_DIR)).toBe(0);
    const shipped = await readSchemaDir(SCHEMAS_DIR);
    const listed = (await registry.list()).map((s) => s.key);
    for (const s of shipped) {
      expect(listed).toContain(schemaUri(s.key));
      expect(await registry.get(schemaUri(s.key))).toEqual(s.schema);
    }
    expect(await registry.get('com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0')).toMatchObject({ required: ['sku', 'quantity'] });
  });

  it('seeds a folder of its own: counts what it adds, refuses changed content whole', async () => {
    writeSchema(orderSchema('1-0-0'));
    writeSchema(orderSchema('1-0-1', { description: 'with a total' }));
    expect(await registry.seedFromDir(tmp)).toBe(2);
    expect(await registry.seedFromDir(tmp)).toBe(0);

    // One file changed under its key, one new: nothing is stored.
    writeSchema(orderSchema('1-0-0', { description: 'edited after publishing' }));
    writeSchema(orderSchema('1-0-2'));
    await expect(registry.seedFromDir(tmp)).rejects.toThrow(SchemaConflictError);
    await expect(registry.seedFromDir(tmp)).rejects.toThrow(`schema iglu:${VENDOR}/order_placed/jsonschema/1-0-0 exists with different content`);
    expect(await registry.get(`iglu:${VENDOR}/order_placed/jsonschema/1-0-2`)).toBeUndefined();
    fs.rmSync(path.join(tmp, VENDOR), { recursive: true });
  });

  it('seeds checking only what it adds: a new schema that is no JSON Schema is refused with nothing stored, a stored one is not compiled again', async () => {
    // A name of its own: the tests below list this vendor's order_placed versions.
    const seeded = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
      orderSchema(version, { self: { vendor: VENDOR, name: 'order_seeded', format: 'jsonschema', version }, ...extra });
    const broken = seeded('1-0-0', { properties: { orderId: { type: 5 } } });
    writeSchema(seeded('1-0-1'));
    writeSchema(broken);
    await expect(registry.seedFromDir(tmp)).rejects.toThrow(`iglu:${VENDOR}/order_seeded/jsonschema/1-0-0: not a valid JSON Schema`);
    expect(await registry.get(`iglu:${VENDOR}/order_seeded/jsonschema/1-0-1`)).toBeUndefined();

    // Stored by other means (SQL) with the folder's content: a start's seed goes on, and an event
    // of that schema gets the schema's issues as its violation, not a failed start.
    await pool.query(
      `INSERT INTO schemas (key, vendor, name, format, version, model, revision, addition, schema) VALUES ($1, $2, 'order_seeded', 'jsonschema', '1-0-0', 1, 0, 0, $3)`,
      [`iglu:${VENDOR}/order_seeded/jsonschema/1-0-0`, VENDOR, JSON.stringify(broken)],
    );
    const fresh = new SchemaRegistry(pool);
    expect(await fresh.seedFromDir(tmp)).toBe(1);
    const [violations] = await fresh.validate([{ field: 'unstruct_event', json: { schema: `iglu:${VENDOR}/order_seeded/jsonschema/1-0-0`, data: { orderId: 'o-1' } } }]);
    expect(violations).toEqual([expect.objectContaining({ error: 'ValidationError', schemaIssues: [expect.objectContaining({ path: '$.properties.orderId.type' })] })]);
    fs.rmSync(path.join(tmp, VENDOR), { recursive: true });
    await pool.query(`DELETE FROM schemas WHERE vendor = $1 AND name = 'order_seeded'`, [VENDOR]);
  });

  it('puts a schema once: created, then unchanged (whatever the key order), a different one conflicts', async () => {
    const schema = orderSchema('2-0-0');
    expect(await registry.put(schema)).toEqual({ key: `iglu:${VENDOR}/order_placed/jsonschema/2-0-0`, created: true });
    const reordered = Object.fromEntries(Object.entries(schema).reverse());
    expect(await registry.put(reordered)).toEqual({ key: `iglu:${VENDOR}/order_placed/jsonschema/2-0-0`, created: false });
    await expect(registry.put(orderSchema('2-0-0', { required: ['orderId', 'total'] }))).rejects.toThrow(SchemaConflictError);
    expect(await registry.get(`iglu:${VENDOR}/order_placed/jsonschema/2-0-0`)).toEqual(schema);
    const mine = (await registry.list()).filter((s) => s.vendor === VENDOR);
    expect(mine.map((s) => s.version)).toEqual(['1-0-0', '1-0-1', '2-0-0']);
    expect(mine[0]).toEqual({ key: `iglu:${VENDOR}/order_placed/jsonschema/1-0-0`, vendor: VENDOR, name: 'order_placed', format: 'jsonschema', version: '1-0-0' });
  });

  it('refuses an invalid schema, naming the field, and stores nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...orderSchema('3-0-0'), $schema: 'http://json-schema.org/draft-04/schema#' }, '$schema'],
      [orderSchema('3-0'), 'self.version'],
      [orderSchema('3-0-0', { properties: { orderId: { type: 'text' } } }), 'schema.properties.orderId.type'],
      [orderSchema('3-0-0', { properties: { orderId: { type: 'string', pattern: '(' } } }), 'schema'],
    ];
    for (const [schema, field] of cases) {
      const err = await registry.put(schema).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidSchemaError);
      expect((err as InvalidSchemaError).field).toBe(field);
    }
    expect(await registry.get(`iglu:${VENDOR}/order_placed/jsonschema/3-0-0`)).toBeUndefined();
  });

  it('validates a batch with one query for the keys it has not compiled yet, none once they are', async () => {
    const c = counting(pool);
    const fresh = new SchemaRegistry(c.pool);
    const SP = 'iglu:com.snowplowanalytics.snowplow';
    const items = [
      { field: 'unstruct_event', json: { schema: `${SP}/add_to_cart/jsonschema/1-0-0`, data: { sku: 'a', quantity: 1 } } },
      { field: 'unstruct_event', json: { schema: `${SP}/add_to_cart/jsonschema/1-0-0`, data: { quantity: 1 } } },
      { field: 'contexts', json: { schema: `${SP}/web_page/jsonschema/1-0-0`, data: { id: '0a1b2c3d-0000-4000-8000-00000000beef' } } },
      { field: 'contexts', json: { schema: `iglu:${VENDOR}/order_placed/jsonschema/1-0-0`, data: { orderId: 'o1', total: -1 } } },
      { field: 'contexts', json: { schema: `iglu:${VENDOR}/no_such_thing/jsonschema/1-0-0`, data: {} } },
      { field: 'unstruct_event', json: { schema: 'com.acme/not-a-uri', data: {} } },
    ];
    const results = await fresh.validate(items);
    expect(c.count()).toBe(1);
    expect(results[0]).toEqual([]);
    expect(results[1]).toEqual([
      {
        schemaKey: `${SP}/add_to_cart/jsonschema/1-0-0`,
        field: 'unstruct_event',
        error: 'ValidationError',
        dataReports: [{ message: '$.sku: is missing but it is required', path: '$', keyword: 'required', targets: ['sku'] }],
      },
    ]);
    expect(results[2]).toEqual([]);
    expect(results[3]).toEqual([
      {
        schemaKey: `iglu:${VENDOR}/order_placed/jsonschema/1-0-0`,
        field: 'contexts',
        error: 'ValidationError',
        dataReports: [{ message: '$.total: must have a minimum value of 0', path: '$.total', keyword: 'minimum', targets: ['0'] }],
      },
    ]);
    const unknown = results[4] as SchemaViolation[];
    expect(unknown).toEqual([
      {
        schemaKey: `iglu:${VENDOR}/no_such_thing/jsonschema/1-0-0`,
        field: 'contexts',
        error: 'ResolutionError',
        lookupHistory: [{ repository: REPOSITORY, errors: [{ error: 'NotFound' }], attempts: 1, lastAttempt: expect.any(String) }],
      },
    ]);
    expect(results[5]).toEqual([
      {
        schemaKey: 'com.acme/not-a-uri',
        field: 'unstruct_event',
        error: 'ResolutionError',
        lookupHistory: [{ repository: REPOSITORY, errors: [{ error: 'ClientFailure', message: expect.stringMatching(/not an Iglu URI/) }], attempts: 0, lastAttempt: expect.any(String) }],
      },
    ]);

    // Compiled keys are not fetched again; the unknown one is (a put may have added it since).
    await fresh.validate(items.slice(0, 4));
    expect(c.count()).toBe(1);
    await registry.put({ ...orderSchema('1-0-0'), self: { vendor: VENDOR, name: 'no_such_thing', format: 'jsonschema', version: '1-0-0' } });
    const later = await fresh.validate([{ field: 'contexts', json: { schema: `iglu:${VENDOR}/no_such_thing/jsonschema/1-0-0`, data: { orderId: 'o2' } } }]);
    expect(c.count()).toBe(2);
    expect(later).toEqual([[]]);
  });

  it('reports a stored schema that does not compile as schema issues', async () => {
    const key = `iglu:${VENDOR}/broken/jsonschema/1-0-0`;
    const broken = { ...orderSchema('1-0-0', { properties: { orderId: { type: 'text' } } }), self: { vendor: VENDOR, name: 'broken', format: 'jsonschema', version: '1-0-0' } };
    await pool.query(
      `INSERT INTO schemas (key, vendor, name, format, version, model, revision, addition, schema) VALUES ($1, $2, 'broken', 'jsonschema', '1-0-0', 1, 0, 0, $3)`,
      [key, VENDOR, JSON.stringify(broken)],
    );
    const [violations] = await new SchemaRegistry(pool).validate([{ field: 'unstruct_event', json: { schema: key, data: { orderId: 'x' } } }]);
    expect(violations).toEqual([{ schemaKey: key, field: 'unstruct_event', error: 'ValidationError', schemaIssues: [{ path: '$.properties.orderId.type', message: expect.stringContaining('must be one of') }] }]);
  });
});

describe('schema routes', () => {
  let pool: Pool;
  let app: FastifyInstance;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 4);
    await migrate(pool);
    app = await createApp({ bodyLimit: 1_000_000 });
    await registerAdminApi(app, apiDeps(pool, ADMIN_KEY), [schemaRoutes]);
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await pool?.query('DELETE FROM schemas WHERE vendor = $1', [VENDOR]);
    await pool?.end();
  });

  const cart = (version: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...orderSchema(version, extra),
    self: { vendor: VENDOR, name: 'cart_viewed', format: 'jsonschema', version },
  });

  it('needs the admin key', async () => {
    for (const [method, url] of [
      ['GET', '/projects/default/schemas'],
      ['POST', '/projects/default/schemas'],
      ['GET', `/projects/default/schemas/${VENDOR}/cart_viewed/jsonschema/1-0-0`],
    ] as const) {
      const res = await app.inject({ method, url, payload: method === 'POST' ? cart('1-0-0') : undefined });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'unauthorized' });
    }
    const wrong = await app.inject({ method: 'GET', url: '/projects/default/schemas', headers: { authorization: `Bearer ${ADMIN_KEY}x` } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ error: 'forbidden' });
  });

  it('creates (201), answers the same again with 200, refuses a change with 409', async () => {
    const created = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: auth, payload: cart('1-0-0') });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ key: `iglu:${VENDOR}/cart_viewed/jsonschema/1-0-0`, vendor: VENDOR, name: 'cart_viewed', format: 'jsonschema', version: '1-0-0', created: true });
    expect(created.headers.location).toBe(`/projects/default/schemas/${VENDOR}/cart_viewed/jsonschema/1-0-0`);

    const again = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: auth, payload: cart('1-0-0') });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false });

    const changed = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: auth, payload: cart('1-0-0', { required: ['orderId', 'total'] }) });
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ error: 'conflict', message: expect.stringMatching(/exists with different content.*new version/), details: { key: `iglu:${VENDOR}/cart_viewed/jsonschema/1-0-0` } });
  });

  it('refuses an invalid schema with 400 naming the problem', async () => {
    const noSelf = cart('1-0-1');
    delete noSelf.self;
    const res = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: auth, payload: noSelf });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/^self must be an object/), details: { field: 'self' } });

    const badType = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: auth, payload: cart('1-0-1', { properties: { total: { type: 'money' } } }) });
    expect(badType.statusCode).toBe(400);
    expect(badType.json()).toMatchObject({ error: 'bad_request', message: expect.stringContaining('$.properties.total.type'), details: { field: 'schema.properties.total.type' } });

    const notObject = await app.inject({ method: 'POST', url: '/projects/default/schemas', headers: { ...auth, 'content-type': 'application/json' }, payload: '[1]' });
    expect(notObject.statusCode).toBe(400);
    expect(notObject.json()).toMatchObject({ error: 'bad_request' });
  });

  it('lists and gets schemas; 404 for an unknown one or project', async () => {
    const list = await app.inject({ method: 'GET', url: '/projects/default/schemas', headers: auth });
    expect(list.statusCode).toBe(200);
    expect((list.json() as { key: string }[]).map((s) => s.key)).toContain(`iglu:${VENDOR}/cart_viewed/jsonschema/1-0-0`);

    const one = await app.inject({ method: 'GET', url: `/projects/default/schemas/${VENDOR}/cart_viewed/jsonschema/1-0-0`, headers: auth });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(cart('1-0-0'));

    const missing = await app.inject({ method: 'GET', url: `/projects/default/schemas/${VENDOR}/cart_viewed/jsonschema/9-0-0`, headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found', message: `no schema iglu:${VENDOR}/cart_viewed/jsonschema/9-0-0` });

    const badVersion = await app.inject({ method: 'GET', url: `/projects/default/schemas/${VENDOR}/cart_viewed/jsonschema/01-0-0`, headers: auth });
    expect(badVersion.statusCode).toBe(400);

    for (const [method, url] of [
      ['GET', '/projects/other/schemas'],
      ['POST', '/projects/other/schemas'],
      ['GET', `/projects/other/schemas/${VENDOR}/cart_viewed/jsonschema/1-0-0`],
    ] as const) {
      const res = await app.inject({ method, url, headers: auth, payload: method === 'POST' ? cart('1-0-2') : undefined });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ error: 'not_found', message: expect.stringMatching(/^unknown project "other"/) });
    }
  });

  it('describes the routes in the OpenAPI document under the tag schemas', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    expect(doc.paths['/projects/{project}/schemas'].post.tags).toEqual(['schemas']);
    expect(doc.paths['/projects/{project}/schemas/{vendor}/{name}/{format}/{version}'].get.tags).toEqual(['schemas']);
  });
});
