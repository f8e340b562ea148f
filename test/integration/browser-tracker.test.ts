import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Browser, BrowserContext } from 'playwright-core';
import { REPO_ROOT } from '../../src/config';
import { launchChromium, serveStatic, type StaticSite } from '../support/browser';
import { startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const COLLECTOR_PORT = 18150;
const SITE_PORT = 18151;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';

/** What the fixture page's tracker callbacks saw (window.tracking). */
interface PageTracking {
  acknowledged: string[];
  failures: { status?: number; message?: string; events: number }[];
  status: number[];
}

interface CollectorAnswer {
  method: string;
  url: string;
  /** The Cookie header the browser sent. */
  cookieSent?: string;
  status: number;
  headers: Record<string, string>;
}

/**
 * Snowplow's browser tracker, as a shop's page loads it, in a real (headless) Chromium: the
 * browser's CORS preflight, credentialed cross-origin POSTs and cookie handling are what a
 * Node client cannot show. Page and collector are on different ports, so different origins.
 */
describe('Snowplow browser tracker in headless Chromium', () => {
  let pool: Pool;
  let beltline: BeltlineProcess;
  let site: StaticSite;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    pool = testPool();
    // Chromium first: on a fresh machine installing it takes a while, and nothing else waits on it.
    browser = await launchChromium();
    const { topic, group } = await freshTopic('browser-test');
    beltline = await startBeltline({ port: COLLECTOR_PORT, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group } });
    site = await serveStatic(SITE_PORT, {
      '/shop.html': { type: 'text/html; charset=utf-8', body: fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'browser', 'shop.html')) },
      '/sp.js': {
        type: 'text/javascript; charset=utf-8',
        body: fs.readFileSync(require.resolve('@snowplow/browser-tracker/dist/index.umd.min.js')),
      },
    });
  }, 600_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await site?.close();
    await beltline?.stop();
    await pool?.end();
  });

  it('sends a page view and a self-describing event that arrive enriched, with the sp cookie as network user id', async () => {
    const user = `browser-${crypto.randomBytes(6).toString('hex')}`;
    const sku = `sku-${crypto.randomBytes(3).toString('hex')}`;
    context = await browser.newContext();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    const answers: Promise<CollectorAnswer>[] = [];
    page.on('response', (res) => {
      if (res.url().startsWith(beltline.url)) {
        answers.push(
          Promise.all([res.request().allHeaders(), res.allHeaders()]).then(([sent, headers]) => ({
            method: res.request().method(),
            url: res.url(),
            cookieSent: sent.cookie,
            status: res.status(),
            headers,
          })),
        );
      }
    });
    const failedRequests: string[] = [];
    page.on('requestfailed', (req) => failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
    const heardBack = (n: number) =>
      waitFor(
        `the tracker to hear back about ${n} event(s)`,
        async () => {
          const t = await page.evaluate<PageTracking>('window.tracking');
          return t.acknowledged.length + t.failures.length >= n ? t : undefined;
        },
        30_000,
      );

    // The page view goes on load; the add-to-cart on a click, after the first answer set the cookie.
    const query = new URLSearchParams({ collector: beltline.url, user, sku });
    const nav = await page.goto(`${site.url}/shop.html?${query}`);
    expect(nav?.status()).toBe(200);
    await heardBack(1);
    await page.click('#add-to-cart');
    const tracking = await heardBack(2);

    // One expectation, so a failure shows every symptom at once.
    expect({ pageErrors, failedRequests, failures: tracking.failures, acknowledged: tracking.acknowledged.length }).toEqual({
      pageErrors: [],
      failedRequests: [],
      failures: [],
      acknowledged: 2,
    });
    expect(tracking.status).toEqual([200, 200]);

    // The browser saw the collector's answers: credentialed CORS reflecting the page's origin,
    // and the sp cookie (httpOnly, so only the browser and the collector ever see it).
    const posts = (await Promise.all(answers)).filter((a) => a.method === 'POST' && a.url === `${beltline.url}${TP2}`);
    expect(posts).toHaveLength(2);
    for (const a of posts) {
      expect(a.status).toBe(200);
      expect(a.headers['access-control-allow-origin']).toBe(site.url);
      expect(a.headers['access-control-allow-credentials']).toBe('true');
      expect(a.headers['set-cookie']).toMatch(/^sp=[0-9a-f-]{36};/);
    }
    const cookies = await context.cookies(beltline.url);
    const sp = cookies.find((c) => c.name === 'sp');
    expect(sp).toMatchObject({ httpOnly: true, sameSite: 'None' });
    const nuid = sp?.value as string;
    expect(nuid).toMatch(/^[0-9a-f-]{36}$/);
    // The first POST went without it; the second sent back the one the first answer set. (Cookies
    // ignore ports, so the tracker's own first-party _sp_* cookies of the page go along too.)
    const spSent = posts.map((a) => /(?:^|; )sp=([^;]*)/.exec(a.cookieSent ?? '')?.[1]);
    expect(spSent).toEqual([undefined, nuid]);

    const rows = await waitFor(
      'both events in beltline.events',
      async () => {
        const { rows } = await pool.query<{ payload: Record<string, unknown> }>('SELECT payload FROM beltline.events WHERE correlation_id = $1', [user]);
        return rows.length >= 2 ? rows.map((r) => r.payload) : undefined;
      },
      120_000,
    );
    expect(rows).toHaveLength(2);
    expect(rows.map((p) => p.event_id).sort()).toEqual([...tracking.acknowledged].sort());

    const pageUrl = `${site.url}/shop.html?${query}`;
    for (const p of rows) {
      expect(p).toMatchObject({ platform: 'web', app_id: 'browser-test', user_id: user, page_url: pageUrl });
      expect(String(p.useragent)).toMatch(/HeadlessChrome|Chrome/);
      // Both: the collector made the id for the first request and kept it for the second.
      expect(p.network_userid).toBe(nuid);
      expect(p.domain_userid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    }
    const pageView = rows.find((p) => p.event === 'page_view');
    expect(pageView).toMatchObject({ event_name: 'page_view', page_title: 'Test shop' });
    const cart = rows.find((p) => p.event === 'unstruct');
    expect(cart).toMatchObject({
      event_name: 'add_to_cart',
      event_vendor: 'com.snowplowanalytics.snowplow',
      unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { sku, quantity: 2 },
    });
  }, 240_000);
});
