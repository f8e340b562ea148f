import crypto from 'node:crypto';
import { admin } from '../support/beltline';
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

  test('no page errors appeared in the browser console', () => {
    expect(s.problems).toEqual([]);
  });
});
