import crypto from 'node:crypto';
import { admin, ensureEventType, TEST_JSON_TYPE, waitFor } from '../support/beltline';
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
    await s.page.click('text=Find');
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
    await s.page.click('text=Open');
    await s.page.waitForSelector(`text=${anon} is linked to this profile`);
    await s.page.click('text=Sign out');
  });

  test('no page errors appeared in the browser console', () => {
    expect(s.problems).toEqual([]);
  });
});
