import type { Pool } from 'pg';
import { admin, ADMIN_KEY, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

describe('event types API', () => {
  let beltline: BeltlineProcess;
  let pool: Pool;
  const suffix = Date.now().toString(36);

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('event-types-test');
    beltline = await startBeltline({ port: 18084, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group } });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  it('needs the admin key', async () => {
    expect((await fetch(`${beltline.url}/projects/default/event-types`)).status).toBe(401);
    const wrong = await fetch(`${beltline.url}/projects/default/event-types`, { headers: { authorization: `Bearer ${ADMIN_KEY}x` } });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: 'forbidden' });
  });

  it('creates, reads, updates and deletes, with errors naming the field', async () => {
    const displayName = `Orders ${suffix}`;
    const created = await admin(beltline.url, 'POST', '/projects/default/event-types', {
      displayName,
      type: 'data_in',
      eventIdExpression: '$.orderId',
      timestampExpression: '$.at',
      correlationIdExpression: '$.customer',
      eventstoreTTL: 'P7D',
    });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { name: string };
    expect(body.name).toBe(`orders-${suffix}`.slice(0, 20));
    const name = body.name;

    expect((await admin(beltline.url, 'POST', '/projects/default/event-types', { displayName })).status).toBe(409);
    expect((await admin(beltline.url, 'GET', `/projects/default/event-types/${name}`)).status).toBe(200);
    const list = (await (await admin(beltline.url, 'GET', '/projects/default/event-types')).json()) as { name: string }[];
    expect(list.map((t) => t.name)).toEqual(expect.arrayContaining(['snowplow', name]));

    const bad = await admin(beltline.url, 'PUT', `/projects/default/event-types/${name}`, { displayName, eventIdExpression: 'nonsense' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', details: { field: 'eventIdExpression' } });

    // Events posted to the type get their ids from its expressions.
    const res = await fetch(`${beltline.url}/api/v1/events/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: `o-${suffix}`, at: '2024-05-06T07:08:09Z', customer: `c-${suffix}` }),
    });
    expect(res.status).toBe(200);
    const row = await waitFor('the order event stored', async () => {
      const { rows } = await pool.query('SELECT event_id, correlation_id, created_at FROM events WHERE event_id = $1', [`o-${suffix}`]);
      return rows[0];
    });
    expect(row).toMatchObject({ correlation_id: `c-${suffix}`, created_at: new Date('2024-05-06T07:08:09Z') });

    // An event the expressions cannot identify becomes a bad row naming the expression.
    await fetch(`${beltline.url}/api/v1/events/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ at: '2024-05-06T07:08:09Z', customer: `nobody-${suffix}` }),
    });
    const bad_row = await waitFor('the bad row', async () => {
      const { rows } = await pool.query(`SELECT type, bad_row FROM bad_rows WHERE bad_row::text LIKE $1`, [`%nobody-${suffix}%`]);
      return rows[0];
    });
    expect(bad_row.type).toBe('adapter_failures');
    expect(JSON.stringify(bad_row.bad_row)).toMatch(/eventIdExpression/);

    expect((await admin(beltline.url, 'DELETE', `/projects/default/event-types/${name}`)).status).toBe(204);
    expect((await admin(beltline.url, 'GET', `/projects/default/event-types/${name}`)).status).toBe(404);
    expect((await admin(beltline.url, 'DELETE', '/projects/default/event-types/snowplow')).status).toBe(400);
    expect((await admin(beltline.url, 'GET', '/projects/other/event-types')).status).toBe(404);
  }, 60_000);
});
