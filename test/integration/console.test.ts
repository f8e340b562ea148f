import crypto from 'node:crypto';
import fs from 'node:fs';
import { admin, ensureEventType, TEST_JSON_TYPE, waitFor } from '../support/beltline';
import { sendEvents } from '../support/tracker';
import { goTo, openConsole, signIn, type ConsoleSession } from '../support/console';

const PORT = 18190;

/** The console's frame in a real Chromium: served, signed in with either kind of key, nothing private. */
describe('console: sign-in and projects', () => {
  let s: ConsoleSession;

  beforeAll(async () => {
    s = await openConsole({ port: PORT });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
  });

  test('is served with a content security policy, and /console redirects to it', async () => {
    const page = await fetch(`${s.beltline.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(await page.text()).toContain('<script src="app.js">');
    const bare = await fetch(`${s.beltline.url}/console`, { redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/console/');
    expect((await fetch(`${s.beltline.url}/console/nope.js`)).status).toBe(404);
  });

  test('a wrong key is refused on the form, with the API\'s reason', async () => {
    await s.page.goto(`${s.beltline.url}/console/`);
    await s.page.fill('input[name=key]', 'not-a-key');
    await s.page.click('button[type=submit]');
    await s.page.waitForSelector('.error');
    expect(await s.page.textContent('.error')).toContain('403');
    // Chromium logs the refused request itself as a console error: that one is expected here.
    expect(s.problems.every((p) => p.includes('status of 403'))).toBe(true);
    s.problems.length = 0;
    await s.shot('signin-refused');
  });

  test('the instance key signs in, creates a project and sees its keys once; the project key then sees only that project', async () => {
    await signIn(s);
    await goTo(s, '#/projects');
    const name = `c${crypto.randomBytes(4).toString('hex')}`;
    await s.page.fill('input[name=project-name]', name);
    await s.page.click('text=Create project');
    await s.page.waitForSelector('.notice pre.json');
    const created = JSON.parse((await s.page.textContent('.notice pre.json')) ?? '{}') as { adminKey: string };
    expect(created.adminKey).toMatch(/^bla_/);
    await s.page.waitForSelector(`table.data td:text-is("${name}")`);
    await s.shot('projects');

    await s.page.click('text=Sign out');
    await signIn(s, created.adminKey);
    expect(await s.page.textContent('header.top .project strong')).toBe(name);
    await goTo(s, '#/projects');
    await s.page.waitForSelector(`table.data td:text-is("${name}")`);
    expect(await s.page.locator('table.data tbody tr').count()).toBe(1);
    expect(await s.page.locator('text=New project').count()).toBe(0);
    await s.page.click('text=Sign out');

    const res = await admin(s.beltline.url, 'DELETE', `/projects/${name}`);
    expect(res.status).toBe(204);
  });

  test('profiles: found by id and by a value at a path, with stamps, history, links and pending expirations', async () => {
    await ensureEventType(s.beltline.url, TEST_JSON_TYPE);
    const run = crypto.randomBytes(4).toString('hex');
    const user = `prof-${run}`;
    const anon = `anon-${run}`;
    let n = 0;
    const send = async (id: string, updates: unknown[]): Promise<void> => {
      const res = await fetch(`${s.beltline.url}/api/v1/events/test-json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: `${run}-${++n}`, correlationId: id, updates }),
      });
      expect(res.status).toBe(200);
    };
    const now = Date.now();
    await send(user, [{ _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'free', _in: now - 2000 } }]);
    await send(user, [{ _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'pro', _in: now - 1000 } }, { _path: ['contact', 'email'], _value: { _v: `${run}@example.com` } }]);
    await send(user, [{ _path: ['offer'], _value: { _v: 'spring', _in: now, _ttl: 'PT1H' } }]);
    await send(anon, [{ _operation: '_link', _value: { _v: user } }]);
    await waitFor('the profile, linked, with its expiration', async () => {
      const res = await admin(s.beltline.url, 'GET', `/projects/default/profiles/${user}/details`);
      if (res.status !== 200) return undefined;
      const d = (await res.json()) as { linkedIds: string[]; expirations: unknown[]; history: unknown[]; document: { plan?: string } };
      return d.linkedIds.includes(anon) && d.expirations.length === 1 && d.history.length === 1 && d.document.plan === 'pro' ? d : undefined;
    });

    await signIn(s);
    await goTo(s, '#/profiles');
    await s.page.fill('input[name=profile-path]', 'contact.email');
    await s.page.fill('input[name=profile-value]', `${run}@example.com`);
    await s.page.click('button:has-text("Find")');
    await s.page.click(`.found a:text-is("${user}")`);
    await s.page.waitForSelector(`[data-profile="${user}"]`);
    const text = (await s.page.textContent('main.content')) ?? '';
    expect(text).toContain('"plan": "pro"');
    expect(text).toContain('with history');
    expect(text).toMatch(/plan\s*=\s*"free"/);
    expect(text).toContain('time to live');
    await s.shot('profile');

    // The anonymous id reads the profile it is linked to, and says so.
    await s.page.fill('input[name=profile-id]', anon);
    await s.page.click('button:has-text("Open")');
    await s.page.waitForSelector(`text=${anon} is linked to this profile`);
    await s.page.click('text=Sign out');
  });

  test('live segments: rows with a filter and a CSV download; dead letters with their reasons, redriven after a schema fix', async () => {
    const run = crypto.randomBytes(4).toString('hex');
    const segment = `plans-${run}`;
    const input = `plans-in-${run}`;
    const schema = (plans: string[]): Record<string, unknown> => ({ type: 'object', properties: { id: { type: 'string' }, plan: { type: 'string', enum: plans } } });
    const definition = { name: segment, displayName: segment, type: 'live_segment', schema: schema(['free', 'pro']) };
    expect((await admin(s.beltline.url, 'POST', '/projects/default/event-types', definition)).status).toBe(201);
    const inputType = { name: input, displayName: input, eventIdExpression: '$.eid', timestampExpression: '#nowMillis()', correlationIdExpression: '$.user' };
    expect((await admin(s.beltline.url, 'POST', '/projects/default/event-types', inputType)).status).toBe(201);
    const belt = await admin(s.beltline.url, 'POST', '/projects/default/belts', {
      name: `plans-belt-${run}`,
      beltType: 'js-callback',
      eventTypes: [input],
      outputTypes: [{ name: segment, version: 'latest' }],
      extractorFn: `function execute(headers, p) { return [DirectUpdate('${segment}', { id: p.user, plan: p.plan })]; }`,
    });
    expect(belt.status).toBe(201);
    const send = async (body: unknown): Promise<void> => {
      const res = await fetch(`${s.beltline.url}/api/v1/events/${input}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
    };
    // Sent until written: the worker takes a new belt's queue up within a few seconds.
    await waitFor('a row and a dead letter', async () => {
      await send({ eid: `${run}-a`, user: 'a', plan: 'pro' });
      await send({ eid: `${run}-b`, user: 'b', plan: 'enterprise' });
      await new Promise((r) => setTimeout(r, 1000));
      const list = (await (await admin(s.beltline.url, 'GET', '/projects/default/segments')).json()) as { name: string; rows: number; deadLetters: number }[];
      const seg = list.find((x) => x.name === segment);
      return seg && seg.rows === 1 && seg.deadLetters === 1 ? seg : undefined;
    });

    await signIn(s);
    await goTo(s, '#/segments');
    await s.page.click(`a:text-is("${segment}")`);
    await s.page.waitForSelector('table.data td:text-is("pro")');
    await s.page.selectOption('select[name=filter-column]', 'plan');
    await s.page.fill('input[name=filter-value]', 'free');
    await s.page.click('button:has-text("Apply")');
    await s.page.waitForSelector('text=no row matches');
    await s.page.fill('input[name=filter-value]', 'pro');
    await s.page.click('button:has-text("Apply")');
    await s.page.waitForSelector('table.data td:text-is("pro")');
    const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.click('button:has-text("Download CSV")')]);
    const csv = fs.readFileSync(await download.path(), 'utf8');
    expect(csv.split('\r\n')[0]).toContain('plan');
    expect(csv).toMatch(/\ba,.*pro|pro,.*\ba\b/);
    await s.page.waitForSelector('text=must be equal to one of the allowed values');
    await s.shot('segments');

    // The schema is fixed elsewhere (Event types); the redrive writes the row that passes now.
    expect((await admin(s.beltline.url, 'PUT', `/projects/default/event-types/${segment}`, { ...definition, schema: schema(['free', 'pro', 'enterprise']) })).status).toBe(200);
    await s.page.click('button:has-text("Redrive")');
    await s.page.waitForSelector('.redrive-result:has-text("redriven 1, still failing 0")');
    await s.page.fill('input[name=filter-value]', '');
    await s.page.click('button:has-text("Apply")');
    await s.page.waitForSelector('table.data td:text-is("enterprise")');
    await s.page.click('text=Sign out');
  }, 120_000);

  test("events sent by Snowplow's tracker show in the event browser, found by their user", async () => {
    const user = `sp-${crypto.randomBytes(4).toString('hex')}`;
    const ids = await sendEvents({ port: PORT, count: 2, userId: user });
    await signIn(s);
    await goTo(s, '#/event-types');
    await s.page.click('tr[data-type="snowplow"] button:has-text("Show events")');
    await s.page.fill('input[name=correlationId]', user);
    await s.page.click('button:has-text("Filter")');
    // The events arrive through Kafka and a batch workflow: the browser's live updates show them.
    for (const id of ids) await s.page.waitForSelector(`tr[data-event="${id}"]`, { timeout: 60_000 });
    await s.page.click(`tr[data-event="${ids[0]}"]`);
    await s.page.waitForSelector(`.event-view:has-text("${ids[0]}")`);
    await s.shot('event-browser-tracker');
    await s.page.click('text=Sign out');
  }, 90_000);

  test('no page errors appeared in the browser console', () => {
    expect(s.problems).toEqual([]);
  });
});
