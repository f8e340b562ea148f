import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { goTo, openConsole, setEditor, signIn, type ConsoleSession } from '../support/console';

const PORT = 18192;

/** The console's SQL page in Chromium: the schema tree, a query and its CSV, a refused write. */
describe('console: SQL', () => {
  const id = `sqlc-${crypto.randomBytes(4).toString('hex')}`;
  let s: ConsoleSession;
  let pool: Pool;

  beforeAll(async () => {
    s = await openConsole({ port: PORT });
    // The default project's tables (`beltline`): the console's project until another is chosen.
    pool = createPool(loadConfig().databaseUrl, 1);
    await pool.query(`INSERT INTO profiles (id, document) VALUES ($1, '{"plan": "pro, yearly"}')`, [id]);
  }, 600_000);

  afterAll(async () => {
    await pool?.query('DELETE FROM profiles WHERE id = $1', [id]).catch(() => undefined);
    await pool?.end();
    await s?.close();
  });

  test('shows the schema, runs a query (Ctrl-Enter), downloads its CSV, and refuses a write', async () => {
    await signIn(s);
    await goTo(s, '#/sql');
    const { page } = s;
    await page.waitForSelector('.schema-tree li[data-table="profiles"]');
    await page.click('.schema-tree li[data-table="profiles"] button.toggle');
    await page.waitForSelector('.schema-tree li[data-table="profiles"] .columns li:has-text("document")');
    await setEditor(page, 'sql', '');
    await page.click('.schema-tree li[data-table="profiles"] button.table-name');
    await page.waitForFunction(`document.querySelector('[data-editor="sql"] .cm-content').innerText.trim() === 'SELECT * FROM profiles LIMIT 100'`);

    await setEditor(page, 'sql', `SELECT id, document->>'plan' AS plan FROM profiles WHERE id = '${id}'`);
    await page.click('[data-editor="sql"] .cm-content');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector(`table.data td:text-is("${id}")`);
    expect(await page.textContent('.sql-status')).toMatch(/^1 row in [\d.]+ ms$/);
    await s.shot('sql-result');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Download CSV')]);
    expect(download.suggestedFilename()).toBe('sql-default.csv');
    expect(fs.readFileSync(await download.path(), 'utf8')).toBe(`id,plan\r\n${id},"pro, yearly"\r\n`);

    await setEditor(page, 'sql', `INSERT INTO profiles (id) VALUES ('${id}-written')`);
    await page.click('button:text-is("Run")');
    await page.waitForSelector('.sql-main .error');
    expect(await page.textContent('.sql-main .error')).toMatch(/^the SQL console is read-only: /);
    expect(await page.locator('table.data').count()).toBe(0);
    await s.shot('sql-refused');
    expect((await pool.query('SELECT 1 FROM profiles WHERE id = $1', [`${id}-written`])).rowCount).toBe(0);
  });

  test('no page errors appeared in the browser console', () => {
    // Chromium logs the refused write's 400 itself as a console error: that one is expected.
    expect(s.problems.filter((p) => !p.includes('status of 400'))).toEqual([]);
  });
});
