import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { projectSchema } from '../../src/projects/names';
import { admin, testPool, waitFor } from '../support/beltline';
import { goTo, openConsole, signIn, type ConsoleSession } from '../support/console';

const PORT = 18194;

/**
 * The console's pipeline graph and operations page in Chromium, on a project of the run's own: a
 * belt stopped and started from its node, and a batch that failed for real replayed from the
 * failed-batches list.
 */
describe('console: pipeline graph and operations', () => {
  const run = crypto.randomBytes(4).toString('hex');
  const project = `co${run}`;
  const belt = `belt-${run}`;
  const cfg = loadConfig();
  let s: ConsoleSession;
  let pool: Pool;
  let projectKey: string;

  const api = (method: string, route: string, body?: unknown) => admin(s.beltline.url, method, `/projects/${project}${route}`, body);
  const send = async (ids: string[]): Promise<void> => {
    const res = await fetch(`${s.beltline.url}/api/v1/events/orders?project=${project}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ids.map((eventId) => ({ eventId, correlationId: `u-${run}` }))),
    });
    expect(res.status).toBe(200);
  };
  const stored = async (ids: string[]): Promise<number> =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${projectSchema(project)}".events WHERE event_id = ANY($1)`, [ids])).rows[0].n;

  beforeAll(async () => {
    pool = testPool();
    // Batches fail within seconds of meeting the fault below, rather than after 40 attempts.
    s = await openConsole({ port: PORT, env: { BELTLINE_ACTIVITY_MAX_ATTEMPTS: '2', BELTLINE_ACTIVITY_MAX_INTERVAL: '1s' } });
    const made = await admin(s.beltline.url, 'POST', '/projects', { name: project });
    expect(made.status).toBe(201);
    projectKey = ((await made.json()) as { adminKey: string }).adminKey;
    const type = { name: 'orders', displayName: 'Orders', type: 'data_in', eventIdExpression: '$.eventId', timestampExpression: '#nowMillis()', correlationIdExpression: '$.correlationId' };
    expect((await api('POST', '/event-types', type)).status).toBe(201);
    const b = { name: belt, beltType: 'js-callback', eventTypes: ['orders'], outputTypes: [], extractorFn: 'function execute() { return []; }' };
    expect((await api('POST', '/belts', b)).status).toBe(201);
    // Its topic is never made: the bridge skips it, the graph shows it all the same.
    const h = { name: 'shop', displayName: 'Shop', sourceType: { name: 'kafka', topic: `co-${run}-in` }, transform: 'return event;', eventType: 'orders' };
    expect((await api('POST', '/harvesters', h)).status).toBe(201);
  }, 600_000);

  afterAll(async () => {
    await pool?.query(`ALTER TABLE IF EXISTS "${projectSchema(project)}".event_ids_held RENAME TO event_ids`).catch(() => undefined);
    if (s) await admin(s.beltline.url, 'DELETE', `/projects/${project}`).catch(() => undefined);
    await s?.close();
    await pool?.end();
  });

  test('the graph is the home page; it shows the belt with its figures; belt and harvester stop and start from their nodes', async () => {
    const ids = [1, 2, 3].map((i) => `ok-${run}-${i}`);
    await send(ids);
    await signIn(s, projectKey);
    await s.page.waitForSelector('main.content[data-page="pipeline"]');
    const node = s.page.locator(`[data-node="belt:${belt}"]`);
    await node.locator('.badge:text-is("running")').waitFor();
    expect(await s.page.locator('[data-node="eventType:orders"]').count()).toBe(1);
    expect(await s.page.locator('[data-edge="eventType:orders→belt:' + belt + '"]').count()).toBe(1);
    // The figures come from the stats of the window: the three events, each run by the belt.
    await s.page.locator('[data-node="eventType:orders"] .throughput:text-is("3 events / 10 min")').waitFor({ timeout: 30_000 });
    await node.locator('.throughput:text-is("3 runs / 10 min")').waitFor({ timeout: 10_000 });
    // What the page drew from: the stats route, which the project's own key reads.
    const stats = (await (await fetch(`${s.beltline.url}/projects/${project}/stats?minutes=5`, { headers: { authorization: `Bearer ${projectKey}` } })).json()) as {
      minutes: string[];
      eventTypes: { name: string; values: number[]; total: number }[];
      belts: { name: string; runs: { total: number }; errors: { total: number } }[];
      lag: { total: number | null; topics: { topic: string }[] };
      temporal: { uiUrl: string | null; namespace: string };
    };
    expect(stats.minutes).toHaveLength(5);
    // The series end at the current minute; the events may have been stored in the one before.
    expect(stats.eventTypes.map((t) => [t.name, t.total, t.values.length])).toEqual([['orders', 3, 5]]);
    expect(stats.belts.map((b) => [b.name, b.runs.total, b.errors.total])).toEqual([[belt, 3, 0]]);
    expect(stats.lag.topics.map((t) => t.topic)).toEqual([`${cfg.BELTLINE_RAW_TOPIC}.${project}`]);
    expect(stats.temporal).toEqual({ uiUrl: `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}`, namespace: cfg.TEMPORAL_NAMESPACE });

    await node.locator('button:text-is("Stop")').click();
    await node.locator('.badge:text-is("stopped")').waitFor();
    expect(((await (await api('GET', `/belts/${belt}`)).json()) as { running: boolean }).running).toBe(false);
    await s.shot('pipeline-stopped');
    await node.locator('button:text-is("Start")').click();
    await node.locator('.badge:text-is("running")').waitFor();
    expect(((await (await api('GET', `/belts/${belt}`)).json()) as { running: boolean }).running).toBe(true);
    await s.shot('pipeline');

    const harvester = s.page.locator('[data-node="harvester:shop"]');
    expect(await s.page.locator(`[data-edge="source:co-${run}-in→harvester:shop"]`).count()).toBe(1);
    await harvester.locator('button:text-is("Stop")').click();
    await harvester.locator('.badge:text-is("stopped")').waitFor();
    expect(((await (await api('GET', '/harvesters/shop')).json()) as { running: boolean }).running).toBe(false);
    await harvester.locator('button:text-is("Start")').click();
    await harvester.locator('.badge:text-is("running")').waitFor();
  });

  test('a failed batch is listed with its Temporal link, and replaying it from the page applies it', async () => {
    // A real failure, in this project alone: the table that claims event ids is away while the batch runs.
    await pool.query(`ALTER TABLE "${projectSchema(project)}".event_ids RENAME TO event_ids_held`);
    const ids = [1, 2].map((i) => `fail-${run}-${i}`);
    let workflowId: string;
    try {
      await send(ids);
      workflowId = await waitFor(
        'the batch to fail',
        async () => {
          const res = await api('GET', '/replays');
          const list = (await res.json()) as { workflowId: string }[];
          return list[0]?.workflowId;
        },
        60_000,
      );
    } finally {
      await pool.query(`ALTER TABLE "${projectSchema(project)}".event_ids_held RENAME TO event_ids`);
    }
    expect(await stored(ids)).toBe(0);

    await goTo(s, '#/operations');
    const row = s.page.locator(`tr[data-batch="${workflowId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('event_ids');
    const link = row.locator('a');
    await s.page.locator('[data-lag-total]').waitFor();
    await s.page.locator('figure.chart[data-chart="Throughput"] g path').first().waitFor();
    expect(await link.getAttribute('href')).toBe(`http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(workflowId)}`);
    await s.shot('operations-failed');

    await row.locator('button:text-is("Replay")').click();
    await s.page.locator('[data-empty="failed-batches"]').waitFor();
    await waitFor('the replayed events', async () => ((await stored(ids)) === ids.length ? true : undefined), 30_000);
    await s.shot('operations');
  });

  test('no page errors appeared in the browser console', () => {
    expect(s.problems).toEqual([]);
  });
});
