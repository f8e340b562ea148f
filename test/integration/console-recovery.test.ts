import type { Pool } from 'pg';
import { testPool, waitFor } from '../support/beltline';
import { goTo, openConsole, setEditor, signIn, type ConsoleSession } from '../support/console';
import { freshTopic } from '../support/kafka';
import { RECOVERY_CONFIG, sendRecoverableEvents } from '../support/recovery-seed';

/** The console's bad rows page on real schema_violations: by type, a dry run's diff, a run on Temporal to its end. */
describe('console: bad rows and recovery', () => {
  let s: ConsoleSession;
  let pool: Pool;
  let mine: string[];
  const run = Date.now().toString(36);
  const ids = ['1', '2', '3', '4'].map((n) => `7ec0c000-0000-4000-8000-${run.padStart(8, '0').slice(-8)}000${n}`);
  const since = new Date(Date.now() - 1000).toISOString();

  beforeAll(async () => {
    pool = testPool();
    const { topic } = await freshTopic('console-recovery-test');
    const { topic: failedTopic } = await freshTopic('console-recovery-failed-test', 1);
    s = await openConsole({
      port: 18195,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: `${topic}-bridge`, BELTLINE_TASK_QUEUE: `console-recovery-${run}`, BELTLINE_RECOVERY_FAILED_TOPIC: failedTopic },
    });
    expect((await sendRecoverableEvents(s.beltline.url, ids, `conrec-${run}`)).status).toBe(200);
    mine = await waitFor('three bad rows', async () => {
      const { rows } = await pool.query<{ id: string }>('SELECT id::text FROM bad_rows WHERE row_key = ANY($1) ORDER BY array_position($1, row_key)', [ids.slice(1).map((id) => `event:${id}:schema`)]);
      return rows.length === 3 ? rows.map((r) => r.id) : undefined;
    });
  }, 600_000);

  afterAll(async () => {
    await s?.close();
    await pool?.end();
  });

  test('lists them by type, dry-runs a typed configuration with its diff, runs it to completion', async () => {
    const { page } = s;
    await signIn(s);
    await goTo(s, `#/bad-rows?type=schema_violations&since=${encodeURIComponent(since)}`);
    await page.waitForSelector(`table.bad-rows tr[data-id="${mine[0]}"]`);
    expect(await page.textContent('.tabs [data-type=schema_violations]')).toContain('(3/3)');
    expect(await page.locator('table.bad-rows tbody tr').count()).toBe(3);
    await page.click(`table.bad-rows tr[data-id="${mine[1]}"] a`);
    expect(await page.textContent('.bad-row-detail pre.json')).toContain('\\"colour\\":\\"red\\"');
    await s.shot('bad-rows');

    await setEditor(page, 'recovery config', JSON.stringify(RECOVERY_CONFIG, null, 2));
    await page.click('button:has-text("Dry run")');
    await page.waitForSelector('.dry-run-summary');
    expect(await page.textContent('.dry-run-summary')).toContain('2 recovered, 0 failed, 1 unmatched, 0 unrecoverable (of 3 bad rows)');
    const row = `.dry-row[data-row="${mine[0]}"]`;
    expect(await page.textContent(`${row} h3`)).toContain('recovered by flow "fix-quantity"');
    expect(await page.locator(`${row} .diff-del`).allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('"quantity": "2"')]));
    expect(await page.locator(`${row} .diff-add`).allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('"quantity": 2'), expect.stringContaining('"aid": "recovered-shop"')]));
    expect(await page.textContent(`.dry-row[data-row="${mine[2]}"]`)).toContain('missing configuration');
    const marked = async (): Promise<number> => (await pool.query('SELECT 1 FROM bad_rows WHERE id = ANY($1::bigint[]) AND recovered_at IS NOT NULL', [mine])).rowCount ?? 0;
    expect(await marked()).toBe(0);
    await s.shot('bad-rows-dry-run');

    await page.click('button:has-text("Run recovery")');
    await page.waitForSelector('.run-status .badge.state-completed', { timeout: 60_000 });
    expect(await page.textContent('.run-progress')).toContain('3 of 3 bad rows: 2 recovered, 0 failed, 1 unmatched');
    expect(await page.getAttribute('.run-status a', 'href')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/recover-/);
    expect(await marked()).toBe(2);
    await page.waitForSelector(`table.bad-rows tr[data-id="${mine[0]}"] td:has-text('recovered by "fix-quantity"')`);
    expect(await page.textContent('.tabs [data-type=schema_violations]')).toContain('(1/3)');
    await s.shot('bad-rows-recovered');
    expect(s.problems).toEqual([]);
  }, 120_000);
});
