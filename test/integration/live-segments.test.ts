import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../../src/config';
import { admin, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic, readAll } from '../support/kafka';
import { SEED_CALLBACK, SEED_SEGMENT_SCHEMA } from '../support/seed-001';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');

// Seed 001, step 3: the live-segment event type exactly as the seed posts it (string-escaped schema).
const SEED_SEGMENT_TYPE = {
  displayName: 'livesegment-dataoutput',
  type: 'live_segment',
  schema: {
    schema: SEED_SEGMENT_SCHEMA,
  },
};

// Seed 001, step 2.
const SEED_DATA_IN_TYPE = {
  displayName: 'livesegment-datain',
  description: 'Live Segment DataIn Event Type',
  type: 'data_in',
  eventIdExpression: '#randomUUID()',
  timestampExpression: '#nowMillis()',
  correlationIdExpression: '#randomUUID()',
  eventstoreTTL: 'P100Y',
};


// Each test drives whole batches through the real stack.
jest.setTimeout(180_000);

describe('live segments', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess;
  let topic: string;

  const post = (route: string, body: unknown): Promise<Response> => admin(beltline.url, 'POST', route, body);
  const put = (route: string, body: unknown): Promise<Response> => admin(beltline.url, 'PUT', route, body);
  const send = (type: string, body: unknown): Promise<Response> =>
    fetch(`${beltline.url}/api/v1/events/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const rows = async (segment: string, query = ''): Promise<Record<string, unknown>[]> => {
    const res = await admin(beltline.url, 'GET', `/projects/default/segments/${segment}/rows${query}`);
    if (res.status !== 200) throw new Error(`rows of ${segment}: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };
  const cli = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run(process.execPath, [CLI, ...args], { env: process.env });

  /** A data_in type keyed by the payload (id `$.eid`, time `$.at`, user `$.user`) and a JS belt writing rows. */
  async function jsPipeline(name: string, segment: string, execute: string): Promise<string> {
    const input = `${name}-in`;
    expect(
      (
        await post('/projects/default/event-types', {
          name: input,
          displayName: input,
          eventIdExpression: '$.eid',
          timestampExpression: '$.at',
          correlationIdExpression: '$.user',
        })
      ).status,
    ).toBe(201);
    const belt = await post('/projects/default/belts', {
      name: `${name}-belt`,
      beltType: 'js-callback',
      eventTypes: [input],
      outputTypes: [{ name: segment, version: 'latest' }],
      extractorFn: execute,
    });
    expect(belt.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2500)); // the worker picks the new belt's queue up
    return input;
  }

  beforeAll(async () => {
    pool = testPool();
    const fresh = await freshTopic('segments-raw');
    topic = fresh.topic;
    beltline = await startBeltline({
      port: 18140,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: fresh.group, BELTLINE_TASK_QUEUE: `segments-${s}` },
    });
    // The seed's names are fixed: a previous run against the same database leaves them behind.
    await admin(beltline.url, 'DELETE', '/projects/default/belts/liveSegement-belt');
    for (const t of ['livesegment-dataoutp', 'livesegment-datain']) await admin(beltline.url, 'DELETE', `/projects/default/event-types/${t}`);
  });

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  it("takes seed 001's bodies and its Python belt writes the sample event's row", async () => {
    const dataIn = await post('/projects/default/event-types', SEED_DATA_IN_TYPE);
    expect(dataIn.status).toBe(201);
    const segType = await post('/projects/default/event-types', SEED_SEGMENT_TYPE);
    expect(segType.status).toBe(201);
    const created = (await segType.json()) as { name: string; schemaVersion: number };
    expect(created).toMatchObject({ name: 'livesegment-dataoutp', schemaVersion: 1 });

    // The table exists with typed columns, id as text primary key, and updated_at.
    const { rows: cols } = await pool.query<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'beltline' AND table_name = 'live_segment_livesegment-dataoutp'",
    );
    const types = Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]));
    expect(types).toMatchObject({ id: 'text', firstName: 'text', lastName: 'text', updated_at: 'timestamp with time zone' });

    const belt = await post('/projects/default/belts', {
      name: 'liveSegement-belt',
      beltType: 'python-callback',
      eventTypes: ['livesegment-datain'],
      outputTypes: [{ name: 'livesegment-dataoutp', version: 'latest' }],
      extractorFn: SEED_CALLBACK,
    });
    expect(belt.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2500));

    // The table outlives its event type, so rows of earlier runs may be there: find this run's by
    // the id the seed's belt gives it, the correlation id of the event just sent.
    const sentAt = new Date(Date.now() - 1000);
    expect((await send('livesegment-datain', { appId: 'liveSegmenttest', firstName: 'Andrew', lastName: 'Peterson' })).status).toBe(200);
    const correlationId = await waitFor('the seed event stored', async () => {
      const { rows: ev } = await pool.query<{ correlation_id: string }>(
        "SELECT correlation_id FROM events WHERE event_type = 'livesegment-datain' AND stored_at >= $1 ORDER BY stored_at DESC LIMIT 1",
        [sentAt],
      );
      return ev[0]?.correlation_id;
    });
    const [row] = await waitFor('the seed row', async () => {
      const found = await rows('livesegment-dataoutp', `?filter=id=${encodeURIComponent(correlationId)}`);
      return found.length > 0 ? found : undefined;
    });
    expect(row).toMatchObject({ id: correlationId, firstName: 'Andrew', lastName: 'Peterson' });

    // The plain SQL the README shows.
    const { rows: sql } = await pool.query('SELECT id, "firstName", "lastName", updated_at FROM beltline."live_segment_livesegment-dataoutp" WHERE id = $1', [row.id]);
    expect(sql).toHaveLength(1);
  });

  it('refuses schemas without a string id, or that are not valid JSON Schema', async () => {
    for (const [schema, message] of [
      [{ type: 'object', properties: { name: { type: 'string' } } }, /"id"/],
      [{ type: 'object', properties: { id: { type: 'object' } } }, /"id" must be of type string/],
      ['{"type": "object", "properties": {', /not valid JSON/],
      [{ type: 'object', properties: { id: { type: 'string' }, n: { type: 'no-such-type' } } }, /not a valid JSON Schema/],
    ] as const) {
      const res = await post('/projects/default/event-types', { name: `bad-${s}`, displayName: 'bad', type: 'live_segment', schema });
      expect(res.status).toBe(400);
      const err = (await res.json()) as { message: string; details: { field: string } };
      expect(err.details.field).toBe('schema');
      expect(err.message).toMatch(message);
    }
  });

  it('upserts by id; an older event never overwrites a row from a newer one', async () => {
    const segment = `people-${s}`;
    expect(
      (
        await post('/projects/default/event-types', {
          name: segment,
          displayName: segment,
          type: 'live_segment',
          schema: {
            type: 'object',
            required: ['id', 'name'],
            properties: {
              id: { type: 'string' },
              name: { type: 'string' },
              visits: { type: 'integer' },
              score: { type: 'number' },
              vip: { type: 'boolean' },
              seen: { type: 'string', format: 'date-time' },
              tags: { type: 'array', items: { type: 'string' } },
            },
          },
        })
      ).status,
    ).toBe(201);
    const input = await jsPipeline(`ups-${s}`, segment, `
      function execute(headers, p) {
        return [DirectUpdate('${segment}', { id: p.user, name: p.name, visits: p.visits, score: 0.5, vip: p.visits > 1, seen: new Date(p.at).toISOString(), tags: ['a'], extra: 'kept' })];
      }`);
    const user = `u-${s}`;
    const at = 1_750_000_000_000;
    expect((await send(input, { eid: `${s}-1`, at, user, name: 'first', visits: 1 })).status).toBe(200);
    await waitFor('the first row', async () => ((await rows(segment)).length === 1 ? true : undefined));
    expect((await send(input, { eid: `${s}-2`, at: at + 1000, user, name: 'second', visits: 2 })).status).toBe(200);
    await waitFor('the update', async () => ((await rows(segment))[0]?.name === 'second' ? true : undefined));
    // An event from before the second one arrives late: the row keeps the newer values.
    expect((await send(input, { eid: `${s}-0`, at: at - 1000, user, name: 'stale', visits: 0 })).status).toBe(200);
    await waitFor('the late event applied', async () => {
      const { rows: applied } = await pool.query('SELECT 1 FROM belt_outputs WHERE event_id = $1 AND applied', [`${s}-0`]);
      return applied.length === 1 ? true : undefined;
    });
    const [row] = await rows(segment);
    expect(row).toMatchObject({ id: user, name: 'second', visits: 2, score: 0.5, vip: true, tags: ['a'] });
    expect(new Date(row.seen as string).getTime()).toBe(at + 1000);
    const { rows: raw } = await pool.query(`SELECT _data->>'extra' AS extra FROM beltline."live_segment_${segment}"`);
    expect(raw[0].extra).toBe('kept');
  });

  it('keeps rows the schema refuses as dead letters (table, Kafka, API, CLI) and redrives them after a schema fix', async () => {
    const segment = `plans-${s}`;
    const schema = (plans: string[]): Record<string, unknown> => ({
      type: 'object',
      properties: { id: { type: 'string' }, plan: { type: 'string', enum: plans } },
    });
    const definition = { name: segment, displayName: segment, type: 'live_segment', schema: schema(['free', 'pro']) };
    expect((await post('/projects/default/event-types', definition)).status).toBe(201);
    const input = await jsPipeline(`dl-${s}`, segment, `
      function execute(headers, p) { return [DirectUpdate('${segment}', { id: p.user, plan: p.plan })]; }`);
    const at = Date.now();
    expect((await send(input, { eid: `${s}-ok`, at, user: 'a', plan: 'pro' })).status).toBe(200);
    expect((await send(input, { eid: `${s}-bad`, at, user: 'b', plan: 'enterprise' })).status).toBe(200);

    const letters = await waitFor('the dead letter', async () => {
      const res = await admin(beltline.url, 'GET', `/projects/default/segments/${segment}/dead-letters`);
      const body = (await res.json()) as { deadLetters: { rowId: string; row: unknown; reason: { kind: string; messages: string[] } }[] };
      return body.deadLetters.length > 0 ? body.deadLetters : undefined;
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ rowId: 'b', row: { id: 'b', plan: 'enterprise' }, reason: { kind: 'schema' } });
    expect(letters[0].reason.messages.join()).toMatch(/\/plan must be equal to one of the allowed values/);
    // The good row of the same batch is written all the same.
    expect((await rows(segment)).map((r) => r.id)).toEqual(['a']);
    const [onKafka] = await readAll(`dead-letter.${segment}`, 1);
    expect(JSON.parse(onKafka)).toMatchObject({ segment, row: { id: 'b', plan: 'enterprise' }, reason: { kind: 'schema' } });
    const listed = await cli('segments', 'dead-letters', segment);
    expect(listed.stdout).toContain('must be equal to one of the allowed values');

    // A redrive before the fix keeps it waiting; after the fix it writes the row, once.
    await expect(cli('segments', 'redrive', segment)).rejects.toMatchObject({ stdout: expect.stringContaining('redriven 0, still failing 1') });
    expect((await put(`/projects/default/event-types/${segment}`, { ...definition, schema: schema(['free', 'pro', 'enterprise']) })).status).toBe(200);
    expect((await cli('segments', 'redrive', segment)).stdout).toContain('redriven 1, still failing 0');
    expect(await rows(segment)).toEqual([expect.objectContaining({ id: 'a', plan: 'pro' }), expect.objectContaining({ id: 'b', plan: 'enterprise' })]);
    expect((await cli('segments', 'redrive', segment)).stdout).toContain('redriven 0, still failing 0');

    // The CLI reads rows as a table, JSON and CSV.
    expect((await cli('segments', 'rows', segment)).stdout).toMatch(/id\s+plan\s+updated_at\n-+/);
    expect(JSON.parse((await cli('segments', 'rows', segment, '--format', 'json', '--filter', 'plan=enterprise')).stdout)).toEqual([expect.objectContaining({ id: 'b' })]);
    expect((await cli('segments', 'rows', segment, '--format', 'csv')).stdout.split('\n')[0]).toBe('id,plan,updated_at');
  });

  it('adds columns for new optional properties; an incompatible change needs a new version with its own table', async () => {
    const segment = `evo-${s}`;
    const v1 = { type: 'object', properties: { id: { type: 'string' }, city: { type: 'string' } } };
    const base = { name: segment, displayName: segment, type: 'live_segment' };
    expect((await post('/projects/default/event-types', { ...base, schema: v1 })).status).toBe(201);
    const table = `beltline."live_segment_${segment}"`;
    // A row written before `zip` is in the schema keeps it in _data; adding the column fills it.
    await pool.query(`INSERT INTO ${table} (id, city, _data, _event_id, _event_at) VALUES ('r1', 'Berlin', '{"id":"r1","city":"Berlin","zip":10115}', 'e', now())`);

    const v2 = { ...v1, properties: { ...v1.properties, zip: { type: 'integer' } } };
    const added = await put(`/projects/default/event-types/${segment}`, { ...base, schema: v2 });
    expect(added.status).toBe(200);
    expect(((await added.json()) as { schemaVersion: number }).schemaVersion).toBe(1);
    expect((await pool.query(`SELECT zip FROM ${table} WHERE id = 'r1'`)).rows[0].zip).toBe('10115');

    for (const [schema, message] of [
      [{ ...v2, properties: { id: { type: 'string' }, zip: { type: 'integer' } } }, /property "city" was removed/],
      [{ ...v2, properties: { ...v2.properties, zip: { type: 'string' } } }, /property "zip" changes type from bigint to text/],
      [{ ...v2, required: ['country'], properties: { ...v2.properties, country: { type: 'string' } } }, /new property "country" is required/],
    ] as const) {
      const res = await put(`/projects/default/event-types/${segment}`, { ...base, schema });
      expect(res.status).toBe(409);
      const err = (await res.json()) as { message: string; details: { field: string; changes: string[]; version: number } };
      expect(err.message).toMatch(message);
      expect(err.message).toContain('"schemaVersion": 2');
      // Each change also on its own, for a form to list (the console's event types page).
      expect(err.details).toEqual({ field: 'schema', version: 1, changes: [expect.stringMatching(message)] });
    }
    // Nothing changed by the refused attempts.
    expect((await pool.query(`SELECT city, zip FROM ${table}`)).rows).toEqual([{ city: 'Berlin', zip: '10115' }]);

    const v3 = { type: 'object', properties: { id: { type: 'string' }, zip: { type: 'string' } } };
    const bumped = await put(`/projects/default/event-types/${segment}`, { ...base, schema: v3, schemaVersion: 2 });
    expect(bumped.status).toBe(200);
    expect(((await bumped.json()) as { schemaVersion: number }).schemaVersion).toBe(2);
    const { rows: v2cols } = await pool.query<{ column_name: string; data_type: string }>(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'beltline' AND table_name = $1 AND column_name = 'zip'",
      [`live_segment_${segment}_v2`],
    );
    expect(v2cols).toEqual([{ column_name: 'zip', data_type: 'text' }]);
    // The old table and its row are untouched, and still readable.
    expect(await rows(segment, '?version=1')).toEqual([expect.objectContaining({ id: 'r1', city: 'Berlin', zip: 10115 })]);
    expect(await rows(segment)).toEqual([]);
    const bad = await put(`/projects/default/event-types/${segment}`, { ...base, schema: v3, schemaVersion: 5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/schemaVersion: must be 2 .* or 3/);
  });

  it('refuses hostile names and quotes hostile property names: no SQL runs that was not meant', async () => {
    for (const name of ['x"; DROP TABLE profiles; --', "o'brien", 'a'.repeat(50), 'UPPER']) {
      const res = await post('/projects/default/event-types', { name, displayName: 'hostile', type: 'live_segment', schema: { type: 'object', properties: { id: { type: 'string' } } } });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { details: { field: string } }).details.field).toBe('name');
    }
    const long = await post('/projects/default/event-types', {
      name: `long-${s}`,
      displayName: 'long',
      type: 'live_segment',
      schema: { type: 'object', properties: { id: { type: 'string' }, ['p'.repeat(64)]: { type: 'string' } } },
    });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { message: string }).message).toMatch(/longer than 63 bytes/);
    const reserved = await post('/projects/default/event-types', {
      name: `rsv-${s}`,
      displayName: 'reserved',
      type: 'live_segment',
      schema: { type: 'object', properties: { id: { type: 'string' }, updated_at: { type: 'string' } } },
    });
    expect(reserved.status).toBe(400);

    const segment = `hostile-${s}`;
    const evil = 'x"; DROP TABLE beltline.profiles; --';
    const quote = "it's";
    expect(
      (
        await post('/projects/default/event-types', {
          name: segment,
          displayName: segment,
          type: 'live_segment',
          schema: { type: 'object', properties: { id: { type: 'string' }, [evil]: { type: 'string' }, [quote]: { type: 'integer' } } },
        })
      ).status,
    ).toBe(201);
    const input = await jsPipeline(`hs-${s}`, segment, `
      function execute(headers, p) { return [DirectUpdate('${segment}', { id: p.user, ${JSON.stringify(evil)}: 'v; DELETE FROM beltline.events', ${JSON.stringify(quote)}: 7 })]; }`);
    expect((await send(input, { eid: `${s}-h`, at: Date.now(), user: 'h1' })).status).toBe(200);
    const [row] = await waitFor('the hostile row', async () => {
      const found = await rows(segment);
      return found.length > 0 ? found : undefined;
    });
    expect(row).toMatchObject({ id: 'h1', [evil]: 'v; DELETE FROM beltline.events', [quote]: 7 });
    const filtered = await rows(segment, `?filter=${encodeURIComponent(`${evil}=v; DELETE FROM beltline.events`)}`);
    expect(filtered).toHaveLength(1);
    const unknown = await admin(beltline.url, 'GET', `/projects/default/segments/${segment}/rows?filter=${encodeURIComponent('nope" OR 1=1 --=x')}`);
    expect(unknown.status).toBe(400);
    // Nothing the names spelled ran: the tables are all there, the events too.
    const { rows: tables } = await pool.query("SELECT to_regclass('beltline.profiles') AS p, to_regclass('beltline.events') AS e");
    expect(tables[0].p).not.toBeNull();
    expect((await pool.query('SELECT count(*)::int AS n FROM events WHERE event_id = $1', [`${s}-h`])).rows[0].n).toBe(1);
  });

  it('publishes every route, segments included, in one OpenAPI document', async () => {
    const res = await fetch(`${beltline.url}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { tags?: string[]; deprecated?: boolean; summary?: string }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const rowsRoute = doc.paths['/projects/{project}/segments/{name}/rows'].get;
    expect(rowsRoute.tags).toEqual(['live segments']);
    expect(rowsRoute.deprecated).toBeUndefined();
    // The old URL is listed, marked deprecated, and names its successor.
    const alias = doc.paths['/api/v1/segments/{name}/rows'].get;
    expect(alias).toMatchObject({ tags: ['live segments'], deprecated: true });
    expect(alias.summary).toContain('/projects/{project}/segments/{name}/rows');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/projects/{project}/segments',
        '/projects/{project}/segments/{name}/dead-letters',
        '/projects/{project}/segments/{name}/redrive',
        '/projects/{project}/event-types',
        '/projects/{project}/actions',
        '/projects/{project}/replays',
        '/com.snowplowanalytics.snowplow/tp2',
      ]),
    );
  });

  it('reads rows under /projects/:project; the old URL answers the same for the default project, behind the admin key', async () => {
    // Rows the seed test wrote; earlier runs against the same database may have left more.
    const route = '/projects/default/segments/livesegment-dataoutp/rows?filter=lastName=Peterson&limit=5';
    const alias = '/api/v1/segments/livesegment-dataoutp/rows?filter=lastName=Peterson&limit=5';
    const current = await admin(beltline.url, 'GET', route);
    expect(current.status).toBe(200);
    const page = (await current.json()) as { segment: string; rows: unknown[] };
    expect(page.segment).toBe('livesegment-dataoutp');
    expect(page.rows.length).toBeGreaterThan(0);
    for (const old of [alias, `${alias}&project=default`]) {
      const res = await admin(beltline.url, 'GET', old);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(page);
    }

    for (const url of [route, alias]) {
      const none = await fetch(`${beltline.url}${url}`);
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ error: 'unauthorized' });
      const wrong = await fetch(`${beltline.url}${url}`, { headers: { authorization: 'Bearer not-the-key' } });
      expect(wrong.status).toBe(403);
      expect(await wrong.json()).toMatchObject({ error: 'forbidden' });
    }

    // An unknown project, or an unknown segment, is a 404 in the shared error shape.
    for (const url of ['/projects/nope/segments/livesegment-dataoutp/rows', '/api/v1/segments/livesegment-dataoutp/rows?project=nope']) {
      const res = await admin(beltline.url, 'GET', url);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found', message: expect.stringContaining('unknown project "nope"') });
    }
    for (const url of ['/projects/default/segments/no-such-segment/rows', '/api/v1/segments/no-such-segment/rows']) {
      const res = await admin(beltline.url, 'GET', url);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found', message: 'no live segment "no-such-segment"' });
    }
  });
});
