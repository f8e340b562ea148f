import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { admin, ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { endOffsets, freshTopic, readFrom } from '../support/kafka';

/**
 * The profile graph on the real stack: history, sets, the change stream, TTL on durable timers. A
 * timer outliving a restart of the Temporal server is profiles-temporal-restart.test.ts, which runs alone.
 */
describe('profile graph', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess;
  let env: Record<string, string>;
  let n = 0;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('profiles-test');
    env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_EXPIRY_BUCKET_MS: '1000' };
    beltline = await startBeltline({ port: 18089, env });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await pool?.end();
  });

  const send = async (user: string, updates: unknown[]) => {
    const res = await fetch(`${beltline.url}/api/v1/events/test-json`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ eventId: `${s}-${++n}`, correlationId: user, updates }),
    });
    expect(res.status).toBe(200);
  };
  const doc = async (user: string) => (await pool.query<{ document: Record<string, unknown> }>('SELECT document FROM profiles WHERE id = $1', [user])).rows[0]?.document;

  it('keeps history, sets, once-values; serves lookups; streams every change to Kafka', async () => {
    const user = `hist-${s}`;
    const sent = Array.from({ length: 6 }, (_, i) => `${s}-${n + i + 1}`);
    const changesFrom = await endOffsets(loadConfig().BELTLINE_PROFILE_UPDATES_TOPIC);
    await send(user, [{ _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'free', _in: 1000 } }]);
    await send(user, [{ _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'pro', _in: 3000 } }]);
    await send(user, [{ _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'trial', _in: 2000 } }]);
    await send(user, [{ _operation: '_add_to_set', _path: ['removed'], _value: { _v: ['sku-1', 'sku-2'] } }, { _operation: '_set_once', _path: ['first'], _value: { _v: 'a', _in: 5 } }]);
    await send(user, [{ _operation: '_remove_from_set', _path: ['removed'], _value: { _v: 'sku-1' } }, { _operation: '_set_once', _path: ['first'], _value: { _v: 'b', _in: 9 } }]);
    await send(user, [{ _path: ['contact', 'email'], _value: { _v: `${s}@example.com` } }]);

    // counter runs inside each batch's step, passthrough (which applies these updates) on its own
    // task queue after it: wait for both.
    const profile = await waitFor('all six events', async () => {
      const d = await doc(user);
      // Batches are applied in no fixed order: 'pro' can win before 'free' has been applied, so
      // the wait includes both replaced plans in the history.
      const replaced = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profile_history WHERE profile_id = $1', [user]);
      // The counter belt counts within each batch, passthrough applies the updates after it on its
      // own queue, in no fixed order across batches: wait until passthrough applied all six (a
      // later event's email could otherwise arrive before an earlier event's _remove_from_set).
      const applied = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM belt_outputs WHERE belt = 'passthrough' AND applied AND event_id = ANY($1)", [sent]);
      return d?.count === 6 && applied.rows[0].n === 6 && (d.contact as { email?: string } | undefined)?.email === `${s}@example.com` && d.plan === 'pro' && d.first === 'a' && replaced.rows[0].n === 2 ? d : undefined;
    });
    expect(profile).toMatchObject({ plan: 'pro', removed: ['sku-2'], first: 'a', contact: { email: `${s}@example.com` } });

    const res = await admin(beltline.url, 'GET', `/projects/default/profiles/${user}?history=true`);
    const body = (await res.json()) as { history: { path: string[]; value: string }[] };
    expect(body.history.map((h) => h.value).sort()).toEqual(['free', 'trial']);
    // The URL of before /projects/:project is an alias of the default project's: the same answer.
    expect(await (await admin(beltline.url, 'GET', `/api/v1/profiles/${user}?history=true`)).json()).toEqual(body);

    const search = `path=contact.email&value=${encodeURIComponent(`${s}@example.com`)}`;
    const found = (await (await admin(beltline.url, 'GET', `/projects/default/profiles?${search}`)).json()) as { id: string }[];
    expect(found.map((p) => p.id)).toEqual([user]);
    expect(await (await admin(beltline.url, 'GET', `/api/v1/profiles?${search}`)).json()).toEqual(found);

    // Every applied change went to `profile-updates` in the update message format.
    type Change = { _id: string; _schema: string; _operation: string };
    const ofUser = (values: string[]): Change[] => values.map((v) => JSON.parse(v) as Change).filter((m) => m._id === user);
    const operations = ['_set_with_history', '_add_to_set', '_remove_from_set', '_set_once', '_increment'];
    const mine = ofUser(await readFrom(loadConfig().BELTLINE_PROFILE_UPDATES_TOPIC, changesFrom, (values) => operations.every((op) => ofUser(values).some((m) => m._operation === op))));
    expect(mine.length).toBeGreaterThanOrEqual(8);
    expect(mine.every((m) => m._schema === 'update_1')).toBe(true);
    expect(mine.map((m) => m._operation)).toEqual(expect.arrayContaining(operations));
  }, 60_000);

  it('expires a PT3S value on a durable timer, emits time_to_live for belts, and leaves a refreshed value alone', async () => {
    const user = `ttl-${s}`;
    const now = Date.now();
    await send(user, [{ _path: ['offer'], _value: { _v: 'old', _in: now, _ttl: 'PT3S' } }, { _path: ['code'], _value: { _v: 'c1', _in: now, _ttl: 'PT3S' } }]);
    // `code` is refreshed a second later: its first expiry must not remove it.
    await new Promise((r) => setTimeout(r, 1000));
    await send(user, [{ _path: ['code'], _value: { _v: 'c2', _in: now + 1000, _ttl: 'PT6S' } }]);

    const expired = await waitFor('offer to expire', async () => {
      const d = await doc(user);
      return d && d.offer === undefined && (d.expired as Record<string, unknown> | undefined)?.offer === 'old' ? d : undefined;
    }, 30_000);
    expect(expired.code).toBe('c2');
    const ttlEvents = await pool.query("SELECT payload FROM events WHERE event_type = 'profile-ttl' AND correlation_id = $1", [user]);
    expect(ttlEvents.rows.map((r: { payload: { path: string[]; oldValue: unknown } }) => [r.payload.path, r.payload.oldValue])).toEqual([[['offer'], 'old']]);

    const later = await waitFor('code to expire at its refreshed time', async () => {
      const d = await doc(user);
      return d && d.code === undefined && (d.expired as Record<string, unknown>).code !== undefined ? d : undefined;
    }, 30_000);
    expect((later.expired as Record<string, unknown>).code).toBe('c2');
    expect(Date.now()).toBeGreaterThanOrEqual(now + 7000);
  }, 90_000);

  it('reaps after the worker was killed with -9 while the timer ran', async () => {
    const user = `kill-${s}`;
    await send(user, [{ _path: ['session'], _value: { _v: 'live', _in: Date.now(), _ttl: 'PT4S' } }]);
    await waitFor('the value written', async () => ((await doc(user))?.session === 'live' ? true : undefined));
    await beltline.kill9();
    await new Promise((r) => setTimeout(r, 6000));
    expect((await doc(user))?.session).toBe('live');
    beltline = await startBeltline({ port: 18089, env });
    await waitFor('the reaper to finish after the restart', async () => ((await doc(user))?.session === undefined ? true : undefined), 30_000);
    // The restarted bridge takes the partitions over once the killed one's session has expired.
    await send(user, [{ _path: ['back'], _value: { _v: true } }]);
    await waitFor('the pipeline to flow again', async () => ((await doc(user))?.back === true ? true : undefined), 60_000);
  }, 150_000);

  it('links an anonymous profile to an authenticated one, before and after updates; refuses known → known', async () => {
    const anon = `anon-${s}`;
    const known = `known-${s}`;
    const other = `known2-${s}`;
    await send(anon, [{ _path: ['cart'], _value: { _v: 'shoes', _in: 1000 } }, { _operation: '_increment', _path: ['visits'], _value: { _v: 2 } }]);
    await send(known, [{ _path: ['email'], _value: { _v: 'k@example.com', _in: 500 } }, { _path: ['cart'], _value: { _v: 'hat', _in: 900 } }, { _operation: '_increment', _path: ['visits'], _value: { _v: 1 } }]);
    await waitFor('both profiles', async () => ((await doc(anon))?.cart && (await doc(known))?.email ? true : undefined));
    await send(anon, [{ _operation: '_link', _value: { _v: known } }]);
    // After the link, updates through the anonymous id reach the authenticated profile.
    await send(anon, [{ _path: ['via'], _value: { _v: 'via-anon', _in: 2000 } }]);
    const linked = await waitFor('the merged profile', async () => {
      const res = await admin(beltline.url, 'GET', `/projects/default/profiles/${anon}`);
      const p = res.ok ? ((await res.json()) as { id: string; document: Record<string, unknown> }) : undefined;
      // The link and the later update can land in batches applied in either order: wait for both.
      return p?.id === known && p.document.via === 'via-anon' ? p : undefined;
    });
    expect(linked.id).toBe(known);
    expect(linked.document).toMatchObject({ email: 'k@example.com', cart: 'shoes', visits: 3 });

    // Two authenticated profiles are kept apart, and the refusal is recorded with its reason.
    await send(`anon2-${s}`, [{ _operation: '_link', _value: { _v: other } }]);
    await send(known, [{ _operation: '_link', _value: { _v: other } }]);
    const refusal = await waitFor('the refusal', async () => {
      const { rows } = await pool.query("SELECT error FROM belt_outputs WHERE belt = 'passthrough' AND error->>'kind' = 'refused' AND error->>'message' LIKE $1", [`%${known}%`]);
      return rows[0] as { error: { message: string } } | undefined;
    });
    expect(refusal.error.message).toMatch(/both profiles are authenticated/);
    expect((await (await admin(beltline.url, 'GET', `/projects/default/profiles/${known}`)).json()) as { id: string }).toMatchObject({ id: known });
  }, 120_000);
});
