/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it kills PostgreSQL.
 *
 * @stack exclusive
 */
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { stackStatus, stackUp } from '../../src/stack';
import { admin, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';
import { sendEvents } from '../support/tracker';

/**
 * Guarantee 8: a definition made through the API is in effect for the collector and every worker
 * when the API answers; and the collector, which holds the event types in memory, keeps taking
 * events of the types it knows while PostgreSQL is down. The collector and the worker are
 * separate processes here, so neither sees the other's writes except through PostgreSQL. No test
 * waits between the API's answer and the events that depend on it.
 */
describe('definitions across role processes', () => {
  const s = Date.now().toString(36);
  const cfg = loadConfig();
  const port = 18196;
  let pool: Pool;
  let topic: string;
  let api: BeltlineProcess;
  let pipeline: BeltlineProcess;

  const jsonType = (name: string, eventId = '$.id') => ({
    name,
    displayName: name,
    type: 'data_in',
    eventIdExpression: eventId,
    timestampExpression: '#nowMillis()',
    correlationIdExpression: '$.user',
  });

  const post = (type: string, events: unknown[]): Promise<Response> =>
    fetch(`${api.url}/api/v1/events/${type}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });

  const storedIds = async (ids: string[]): Promise<number> =>
    (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_id = ANY($1::text[])', [ids])).rows[0].n;
  const countOfType = async (type: string): Promise<number> => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE event_type = $1', [type])).rows[0].n;
  /** This test's bad rows since `after` (an id): JSON records are keyed by topic, harvester failures by harvester name. */
  const badRows = async (after: number): Promise<{ type: string; bad_row: unknown }[]> =>
    (
      await pool.query<{ type: string; bad_row: unknown }>(
        "SELECT type, bad_row FROM bad_rows WHERE id > $3 AND (row_key LIKE $1 || ':%' OR row_key LIKE '%:harvester:%' || $2) ORDER BY id",
        [topic, s, after],
      )
    ).rows;
  const lastBadRow = async (): Promise<number> => Number((await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM bad_rows')).rows[0].id ?? 0);

  /** Waits until the events are stored or became bad rows (whichever the pipeline made of them), then says how many are stored. */
  async function settle(ids: string[], after: number): Promise<number> {
    return waitFor(`${ids.length} events stored or bad rows`, async () => {
      const stored = await storedIds(ids);
      const bad = (await badRows(after)).length;
      return stored + bad >= ids.length ? stored : undefined;
    });
  }

  beforeAll(async () => {
    pool = testPool();
    pool.on('error', () => undefined);
    const fresh = await freshTopic('defs', 2);
    topic = fresh.topic;
    // A task queue of its own: batches go to this test's worker, not to another run's.
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: fresh.group, BELTLINE_TASK_QUEUE: `defs-${s}` };
    [api, pipeline] = await Promise.all([startBeltline({ roles: ['collector'], port, env }), startBeltline({ roles: ['bridge', 'worker'], port: port + 1, env })]);

    // Both processes have read the event types (the worker through a batch) before the tests change them.
    for (const [type, body] of [[`base-${s}`, { id: `warm-${s}`, user: `u-${s}` }], [`chg-${s}`, { k0: `warm-chg-${s}`, user: `u-${s}` }]] as const) {
      expect((await admin(api.url, 'POST', '/projects/default/event-types', jsonType(type, type.startsWith('chg') ? '$.k0' : '$.id'))).status).toBe(201);
      // Setup, not the test: taken at once here too, but the first test is the one that says so.
      await waitFor(`the collector to take ${type}`, async () => ((await post(type, [body])).status === 200 ? true : undefined));
    }
    await waitFor('the warm-up events', async () => ((await storedIds([`warm-${s}`, `warm-chg-${s}`])) === 2 ? true : undefined));
  }, 180_000);

  afterAll(async () => {
    await stackUp(cfg, { only: ['postgres'] }).catch(() => undefined);
    // Collector harvesters see every later batch of the project: leave none behind.
    await pool.query('DELETE FROM harvesters WHERE name LIKE $1', [`%-${s}`]).catch(() => undefined);
    await pool.query('DELETE FROM event_types WHERE name LIKE $1', [`%-${s}`]).catch(() => undefined);
    await Promise.all([api?.stop(), pipeline?.stop()]);
    await pool?.end();
  }, 90_000);

  it('takes events of a type created a moment ago: the collector answers 2xx and the worker stores them all', async () => {
    const before = await lastBadRow();
    const ids: string[] = [];
    for (let round = 0; round < 5; round++) {
      const name = `new-${round}-${s}`;
      expect((await admin(api.url, 'POST', '/projects/default/event-types', jsonType(name))).status).toBe(201);
      const events = Array.from({ length: 20 }, (_, i) => ({ id: `${name}-${i}`, user: `u-${s}` }));
      const res = await post(name, events);
      expect({ round, status: res.status, body: res.status === 200 ? null : await res.text() }).toEqual({ round, status: 200, body: null });
      ids.push(...events.map((e) => e.id));
    }
    expect(await settle(ids, before)).toBe(ids.length);
    expect(await badRows(before)).toEqual([]);
  }, 120_000);

  it('applies a changed type to the events sent right after the change', async () => {
    const before = await lastBadRow();
    const name = `chg-${s}`;
    for (let round = 0; round < 5; round++) {
      // Events carrying only the field the new definition reads: invalid under the old one. A
      // definition applies when the worker processes an event, so each round settles before the
      // next change.
      const field = `k${round + 1}`;
      expect((await admin(api.url, 'PUT', `/projects/default/event-types/${name}`, jsonType(name, `$.${field}`))).status).toBe(200);
      const events = Array.from({ length: 10 }, (_, i) => ({ [field]: `${name}-${round}-${i}`, user: `u-${s}` }));
      expect((await post(name, events)).status).toBe(200);
      const ids = events.map((e) => e[field]);
      expect({ round, stored: await settle(ids, before) }).toEqual({ round, stored: ids.length });
    }
    expect(await badRows(before)).toEqual([]);
  }, 120_000);

  it('harvests from the first event after a harvester is started, and not once it is stopped', async () => {
    const before = await lastBadRow();
    const target = `hv-${s}`;
    const harvester = `keep-${s}`;
    const appId = `app-${s}`;
    const user = `hv-user-${s}`;
    expect(
      (
        await admin(api.url, 'POST', '/projects/default/event-types', {
          name: target,
          displayName: target,
          type: 'data_in',
          eventIdExpression: '#randomUUID()',
          timestampExpression: '#nowMillis()',
          correlationIdExpression: '$.user_id',
        })
      ).status,
    ).toBe(201);
    const send = (n: number): Promise<string[]> => sendEvents({ port, count: n, userId: user, appId });
    /** Sends tracker events and waits until the batches holding them are stored; harvests land in the same transaction. */
    const sendAndSettle = async (n: number): Promise<void> => {
      const ids = await send(n);
      await waitFor('the tracker events', async () => ((await storedIds(ids)) === ids.length ? true : undefined));
    };

    const created = await admin(api.url, 'POST', '/projects/default/harvesters', {
      name: harvester,
      displayName: harvester,
      sourceType: { name: 'collector' },
      transform: { script: `return event.app_id === ${JSON.stringify(appId)} ? event : null;` },
      eventType: { name: target },
    });
    expect(created.status).toBe(201);
    await sendAndSettle(10);
    expect(await countOfType(target)).toBe(10);

    expect((await admin(api.url, 'POST', `/projects/default/harvesters/${harvester}/stop`)).status).toBe(200);
    await sendAndSettle(10);
    expect(await countOfType(target)).toBe(10);

    expect((await admin(api.url, 'POST', `/projects/default/harvesters/${harvester}/start`)).status).toBe(200);
    await sendAndSettle(10);
    expect(await countOfType(target)).toBe(20);

    expect((await admin(api.url, 'DELETE', `/projects/default/harvesters/${harvester}`)).status).toBe(204);
    await sendAndSettle(10);
    expect(await countOfType(target)).toBe(20);
    expect(await badRows(before)).toEqual([]);
  }, 180_000);

  it('while PostgreSQL is down, takes events of known types, answers 503 for unknown ones, and stores what it took once it is back', async () => {
    const before = await lastBadRow();
    const known = `base-${s}`;
    const pg = (await stackStatus(cfg)).find((x) => x.name === 'postgres');
    expect(pg?.pid).toBeGreaterThan(0);
    process.kill(pg?.pid as number, 'SIGKILL');
    await waitFor('PostgreSQL to refuse connections', async () => {
      try {
        await pool.query('SELECT 1');
        return undefined;
      } catch {
        return true;
      }
    });

    // Longer than any time-based cache would hold (the collector's was 2 s): the answers must not
    // depend on when the types were last read.
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(known, [{ id: `down-${s}-${i}`, user: `u-${s}` }]);
      expect({ i, status: res.status, body: res.status === 200 ? null : await res.text() }).toEqual({ i, status: 200, body: null });
      ids.push(`down-${s}-${i}`);
      const unknown = await post(`unknown-${i}-${s}`, [{ id: 'x', user: 'y' }]);
      expect({ i, status: unknown.status }).toEqual({ i, status: 503 });
      expect(await unknown.json()).toEqual({ error: 'unavailable', message: expect.stringContaining('retry later') });
      await new Promise((r) => setTimeout(r, 250));
    }

    await stackUp(cfg, { only: ['postgres'] });
    expect(api.child.exitCode).toBeNull();
    expect(pipeline.child.exitCode).toBeNull();
    await waitFor('the events taken while PostgreSQL was down', async () => ((await storedIds(ids).catch(() => 0)) === ids.length ? true : undefined), 150_000);

    // The listeners reconnected (or read through): a type created now is taken at once.
    const after = `after-${s}`;
    expect((await admin(api.url, 'POST', '/projects/default/event-types', jsonType(after))).status).toBe(201);
    expect((await post(after, [{ id: `after-${s}`, user: `u-${s}` }])).status).toBe(200);
    await waitFor('the event of the type created after the restart', async () => ((await storedIds([`after-${s}`])) === 1 ? true : undefined));
    expect(await badRows(before)).toEqual([]);
  }, 240_000);
});
