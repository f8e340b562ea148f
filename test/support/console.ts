import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { REPO_ROOT } from '../../src/config';
import { launchChromium } from './browser';
import { ADMIN_KEY, startBeltline, type BeltlineProcess } from './beltline';

/** Screenshots of the console's pages: kept as test artifacts (git-ignored) to be looked at. */
export const SHOTS_DIR = path.join(REPO_ROOT, 'test-artifacts', 'console');

export interface ConsoleSession {
  beltline: BeltlineProcess;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far: a test ends by expecting none. */
  problems: string[];
  /** Saves a full-page screenshot as test-artifacts/console/<name>.png. */
  shot(name: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * beltline as users run it (`beltline start`, the built console), and a headless Chromium on its
 * /console/ page, with every console error and page error recorded for the test to assert on.
 */
export async function openConsole(opts: { port: number; env?: Record<string, string> }): Promise<ConsoleSession> {
  // Chromium first: on a fresh machine installing it takes a while.
  const browser = await launchChromium();
  const beltline = await startBeltline({ port: opts.port, env: opts.env });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  fs.mkdirSync(SHOTS_DIR, { recursive: true });
  return {
    beltline,
    browser,
    context,
    page,
    problems,
    async shot(name) {
      await page.screenshot({ path: path.join(SHOTS_DIR, `${name}.png`), fullPage: true });
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await beltline.stop();
    },
  };
}

/** Signs in on the sign-in form with a key (the instance admin key unless given) and waits for the shell. */
export async function signIn(s: ConsoleSession, key = ADMIN_KEY): Promise<void> {
  await s.page.goto(`${s.beltline.url}/console/`);
  await s.page.fill('input[name=key]', key);
  await s.page.click('button[type=submit]');
  await s.page.waitForSelector('header.top');
}

/** Opens a page of the console by its hash (`#/<page>/…`) and waits until it is shown. */
export async function goTo(s: ConsoleSession, hash: string): Promise<void> {
  await s.page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  const id = hash.replace(/^#\/?/, '').split(/[/?]/)[0];
  await s.page.waitForSelector(`main.content[data-page="${id}"]`);
}

/** Replaces a CodeMirror editor's text as one user edit (see console/components/editor.tsx). */
export async function setEditor(page: Page, label: string, text: string): Promise<void> {
  // Preact renders after the event that shows an editor returns: wait for CodeMirror to be there.
  await page.waitForSelector(`[data-editor=${JSON.stringify(label)}] .cm-editor`);
  const ok = await page.evaluate(`window.__setEditor(${JSON.stringify(label)}, ${JSON.stringify(text)})`);
  if (!ok) throw new Error(`no editor labelled ${JSON.stringify(label)} on the page`);
}
