import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import type { Pool } from 'pg';
import { loadConfig, REPO_ROOT } from '../../src/config';
import type { IngestBatchInput } from '../../src/batches/record';
import { admin, ensureEventType, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
/** The test receiver listens on loopback, which actions may target only when allowed. */
const ALLOWED = '127.0.0.1';

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn', BELTLINE_ACTION_ALLOWED_HOSTS: ALLOWED } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Hit {
  path: string;
  key: string | undefined;
  authorization: string | undefined;
  action: string | undefined;
  eventId: string | undefined;
  body: unknown;
}

/** A webhook receiver whose answer per path the test sets (a list of statuses, the last repeats). */
function receiver(port: number): Promise<{ hits: Hit[]; answers: Map<string, number[]>; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const answers = new Map<string, number[]>();
  const seen = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const p = req.url ?? '/';
      const h = (n: string): string | undefined => req.headers[n] as string | undefined;
      hits.push({ path: p, key: h('idempotency-key'), authorization: h('authorization'), action: h('x-beltline-action'), eventId: h('x-beltline-event-id'), body: JSON.parse(data) });
      const n = seen.get(p) ?? 0;
      seen.set(p, n + 1);
      const list = answers.get(p) ?? [200];
      res.writeHead(list[Math.min(n, list.length - 1)], { 'content-type': 'text/plain' }).end('answer from the test receiver');
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ hits, answers, close: () => new Promise((r) => server.close(() => r())) })));
}

describe('actions: webhooks from belts, sent once', () => {
  const s = Date.now().toString(36);
  const queue = `actions-test-${s}`;
  const cfg = loadConfig();
  const eventType = `actions-test-${s}`;
  const belt = `actions-test-belt-${s}`;
  const hook = (n: string): string => `at-${n}-${s}`;
  let pool: Pool;
  let beltline: BeltlineProcess;
  let temporal: Connection;
  let client: Client;
  let rx: Awaited<ReturnType<typeof receiver>>;

  beforeAll(async () => {
    pool = testPool();
    temporal = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection: temporal, namespace: cfg.TEMPORAL_NAMESPACE });
    rx = await receiver(18101);
    const { topic, group } = await freshTopic('actions-test');
    beltline = await startBeltline({
      port: 18100,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue, BELTLINE_ACTION_TEST_TOKEN: `tok-${s}`, BELTLINE_ACTION_ALLOWED_HOSTS: ALLOWED },
    });
    await ensureEventType(beltline.url, {
      name: eventType,
      displayName: eventType,
      type: 'data_in',
      eventIdExpression: '$.eventId',
      timestampExpression: '#nowMillis()',
      correlationIdExpression: '$.userId',
      eventstoreTTL: 'P1D',
    });
    const base = 'http://127.0.0.1:18101';
    const actions = [
      { name: hook('ok'), type: 'webhook', url: `${base}/ok`, headers: { Authorization: 'Bearer ${env:BELTLINE_ACTION_TEST_TOKEN}' } },
      { name: hook('flaky'), type: 'webhook', url: `${base}/flaky`, retry: { maximumAttempts: 5, initialInterval: 'PT0.2S', maximumInterval: 'PT1S' } },
      { name: hook('gone'), type: 'webhook', url: `${base}/gone`, retry: { maximumAttempts: 5, initialIntervalMs: 200 } },
      { name: hook('down'), type: 'webhook', url: `${base}/down`, retry: { maximumAttempts: 2, initialIntervalMs: 200 } },
    ];
    for (const a of actions) expect((await admin(beltline.url, 'POST', '/projects/default/actions', a)).status).toBe(201);
    rx.answers.set('/flaky', [500, 200]);
    rx.answers.set('/gone', [404]);
    rx.answers.set('/down', [503]);
    const res = await admin(beltline.url, 'POST', '/projects/default/belts', {
      name: belt,
      beltType: 'js-callback',
      eventTypes: [eventType],
      extractorFn: `function execute(headers, payload) {
        const id = headers['grnry-correlation-id'];
        return [Update(id, ['actions_test', 'last'], payload.n)].concat(
          payload.actions.map((a) => Action(a, { user: id, n: payload.n })));
      }`,
    });
    expect(res.status).toBe(201);
  }, 120_000);

  // The CLI's definition files, removed with the suite.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'actions-test-'));

  afterAll(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await beltline?.stop();
    if (beltline) await admin(beltline.url, 'DELETE', `/projects/default/belts/${belt}`).catch(() => undefined);
    await rx?.close();
    await pool?.end();
    await temporal?.close();
  }, 60_000);

  const post = (body: unknown): Promise<Response> =>
    fetch(`${beltline.url}/api/v1/events/${eventType}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  /** The workflow of the batch that holds the event: its id, once the event is stored. */
  const batchOf = async (eventId: string): Promise<string> => {
    const batchId = await waitFor(`event ${eventId} stored`, async () => (await pool.query<{ batch_id: string }>('SELECT batch_id FROM events WHERE event_id = $1', [eventId])).rows[0]?.batch_id);
    const m = /^(.*)-(\d+)-(\d+)-(\d+)$/.exec(batchId) as RegExpExecArray;
    return `ingest-${m[1]}-p${m[2]}-o${m[3]}-${m[4]}`;
  };
  /** Waits until the batch's workflow (actions included) has finished. */
  const batchDone = async (eventId: string): Promise<unknown> => client.workflow.getHandle(await batchOf(eventId)).result();

  const runs = async (eventId: string): Promise<{ action: string; state: string; attempts: number; response_status: number | null; last_error: string | null; idempotency_key: string }[]> =>
    (await pool.query('SELECT action, state, attempts, response_status, last_error, idempotency_key FROM action_runs WHERE event_id = $1 ORDER BY action', [eventId])).rows;

  it('refuses bad definitions with a 400 naming the field, through the API and the CLI', async () => {
    const bad = async (body: unknown, field: string): Promise<void> => {
      const res = await admin(beltline.url, 'POST', '/projects/default/actions', body);
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: string; message: string; details: { field: string } };
      expect(json.error).toBe('bad_request');
      expect(json.details.field).toBe(field);
      expect(json.message).toContain(field);
    };
    await bad({ name: hook('x'), type: 'webhook', url: 'not a url' }, 'url');
    await bad({ name: hook('x'), type: 'email', url: 'http://127.0.0.1:18101/x' }, 'type');
    await bad({ name: hook('x'), type: 'webhook', url: 'http://127.0.0.1:18101/x', timeout: 'soon' }, 'timeout');
    await bad({ name: hook('x'), type: 'webhook', url: 'http://127.0.0.1:18101/x', headers: { 'Idempotency-Key': 'mine' } }, 'headers.Idempotency-Key');
    // Internal targets, unless allowed (this process allows 127.0.0.1 alone), and secrets.
    for (const url of ['http://10.0.0.5/x', 'http://192.168.1.20:8080/x', 'http://127.0.0.2:18101/x', 'http://[::1]:18101/x', 'http://169.254.169.254/latest/meta-data/']) {
      await bad({ name: hook('x'), type: 'webhook', url }, 'url');
    }
    await bad({ name: hook('x'), type: 'webhook', url: 'http://127.0.0.1:18101/x', headers: { 'X-Leak': '${env:DATABASE_URL}' } }, 'headers.X-Leak');
    expect((await admin(beltline.url, 'GET', `/projects/default/actions/${hook('x')}`)).status).toBe(404);
    // Without the key: 401.
    expect((await fetch(`${beltline.url}/projects/default/actions`)).status).toBe(401);
    // A duplicate: 409; a PUT replaces; the GET shows the normalised definition.
    expect((await admin(beltline.url, 'POST', '/projects/default/actions', { name: hook('ok'), url: 'http://127.0.0.1:18101/ok' })).status).toBe(409);
    const got = (await (await admin(beltline.url, 'GET', `/projects/default/actions/${hook('ok')}`)).json()) as Record<string, unknown>;
    expect(got).toMatchObject({ name: hook('ok'), type: 'webhook', method: 'POST', timeoutMs: 10_000, headers: { Authorization: 'Bearer ${env:BELTLINE_ACTION_TEST_TOKEN}' } });

    const file = (name: string, body: unknown): string => {
      const f = path.join(tmp, name);
      fs.writeFileSync(f, JSON.stringify(body));
      return f;
    };
    const badCli = await cli('actions', 'create', '--file', file('bad.json', { name: hook('cli'), type: 'webhook', url: 'ftp://x.example/' }));
    expect(badCli.code).toBe(2);
    expect(badCli.stderr).toMatch(/invalid definition: url: must be http or https/);
    const privateCli = await cli('actions', 'create', '--file', file('private.json', { name: hook('cli'), url: 'http://10.1.2.3/cli' }));
    expect(privateCli.code).toBe(2);
    expect(privateCli.stderr).toMatch(/invalid definition: url: must not target a private address/);
    const created = await cli('actions', 'create', '--file', file('ok.json', { name: hook('cli'), url: 'http://127.0.0.1:18101/cli', timeout: 'PT2S' }));
    expect(created.stdout).toContain(`created action ${hook('cli')}`);
    expect((await cli('actions', 'list')).stdout).toMatch(new RegExp(`${hook('cli')}\\s+POST\\s+http://127.0.0.1:18101/cli`));
    expect(JSON.parse((await cli('actions', 'get', hook('cli'))).stdout)).toMatchObject({ timeoutMs: 2000 });
    expect((await cli('actions', 'update', hook('cli'), '--file', file('bad2.json', { url: 'http://127.0.0.1:18101/cli', type: 'sms' }))).stderr).toMatch(/type: must be "webhook"/);
    expect((await cli('actions', 'delete', hook('cli'))).stdout).toContain(`deleted action ${hook('cli')}`);
    expect((await admin(beltline.url, 'GET', `/projects/default/actions/${hook('cli')}`)).status).toBe(404);
  }, 60_000);

  it('refuses at delivery a target or variable a stored definition names but may not reach', async () => {
    // As if stored before these checks (or a name that resolved elsewhere at definition): the
    // worker checks again when it sends.
    const stored = [
      { name: hook('rebound'), url: 'http://127.0.0.2:18101/rebound' },
      { name: hook('leak'), url: 'http://127.0.0.1:18101/leak', headers: { 'X-Leak': '${env:BELTLINE_ADMIN_KEY}' } },
    ];
    for (const a of stored) {
      const def = { description: '', type: 'webhook', method: 'POST', headers: {}, timeoutMs: 2000, retry: { maximumAttempts: 3, initialIntervalMs: 200, maximumIntervalMs: 200, backoffCoefficient: 1 }, ...a };
      await pool.query('INSERT INTO actions (project, name, definition) VALUES ($1, $2, $3)', ['default', a.name, def]);
    }
    try {
      const ev = `ev-${s}-refused`;
      expect((await post({ eventId: ev, userId: `user-${s}-refused`, n: 1, actions: stored.map((a) => a.name) })).status).toBeLessThan(300);
      const settled = await waitFor('both refused', async () => {
        const r = await runs(ev);
        return r.length === 2 && r.every((x) => x.state !== 'pending') ? r : undefined;
      });
      const by = new Map(settled.map((r) => [r.action, r]));
      // Refused for good at the first attempt: no retries against an internal address.
      expect(by.get(hook('rebound'))).toMatchObject({ state: 'failed', attempts: 1, response_status: null });
      expect(by.get(hook('rebound'))?.last_error).toMatch(/url must not target a loopback address/);
      expect(by.get(hook('leak'))).toMatchObject({ state: 'failed', attempts: 1, response_status: null });
      expect(by.get(hook('leak'))?.last_error).toMatch(/BELTLINE_ADMIN_KEY; actions may read only variables starting with BELTLINE_ACTION_/);
      expect(rx.hits.filter((h) => h.path === '/leak' || h.path === '/rebound')).toEqual([]);
    } finally {
      await pool.query('DELETE FROM actions WHERE project = $1 AND name = ANY($2)', ['default', stored.map((a) => a.name)]);
    }
  }, 60_000);

  it('sends each action once with a stable Idempotency-Key; retries 5xx; records 4xx and unknown actions as failed; a replayed batch sends nothing again', async () => {
    const ev = `ev-${s}-1`;
    const user = `user-${s}-1`;
    const wanted = [hook('ok'), hook('flaky'), hook('gone'), hook('missing'), hook('down')];
    expect((await post({ eventId: ev, userId: user, n: 1, actions: wanted })).status).toBeLessThan(300);

    const settled = await waitFor('every action settled', async () => {
      const r = await runs(ev);
      return r.length === 5 && r.every((x) => x.state !== 'pending') ? r : undefined;
    });
    const by = new Map(settled.map((r) => [r.action, r]));
    expect(by.get(hook('ok'))).toMatchObject({ state: 'sent', attempts: 1, response_status: 200, last_error: null });
    expect(by.get(hook('flaky'))).toMatchObject({ state: 'sent', attempts: 2, response_status: 200 });
    expect(by.get(hook('gone'))).toMatchObject({ state: 'failed', attempts: 1, response_status: 404 });
    expect(by.get(hook('gone'))?.last_error).toMatch(/answered 404/);
    expect(by.get(hook('missing'))).toMatchObject({ state: 'failed', attempts: 0 });
    expect(by.get(hook('missing'))?.last_error).toMatch(/no action named .* is configured/);
    expect(by.get(hook('down'))).toMatchObject({ state: 'failed', attempts: 2, response_status: 503 });

    // The profile update was applied too: a failing action does not fail the batch.
    await waitFor('the profile', async () => ((await pool.query("SELECT 1 FROM profiles WHERE id = $1 AND document->'actions_test'->>'last' = '1'", [user])).rowCount === 1 ? true : undefined));

    const hits = (p: string): Hit[] => rx.hits.filter((h) => h.path === p && h.eventId === ev);
    expect(hits('/ok')).toHaveLength(1);
    const okHit = hits('/ok')[0];
    expect(okHit).toMatchObject({ key: by.get(hook('ok'))?.idempotency_key, authorization: `Bearer tok-${s}`, action: hook('ok'), body: { user, n: 1 } });
    expect(okHit.key).toMatch(/^[0-9a-f]{64}$/);
    // Retried with the same key: the receiver can tell it is the same action.
    expect(hits('/flaky')).toHaveLength(2);
    expect(new Set(hits('/flaky').map((h) => h.key))).toEqual(new Set([by.get(hook('flaky'))?.idempotency_key]));
    // A 404 is not retried; a 503 is, up to the action's maximumAttempts.
    expect(hits('/gone')).toHaveLength(1);
    expect(hits('/down')).toHaveLength(2);

    // The admin API and the CLI show the deliveries.
    const listed = (await (await admin(beltline.url, 'GET', `/projects/default/actions/${hook('flaky')}/runs`)).json()) as { eventId: string; state: string; attempts: number }[];
    expect(listed.find((r) => r.eventId === ev)).toMatchObject({ state: 'sent', attempts: 2 });
    expect((await cli('actions', 'runs', hook('gone'))).stdout).toMatch(new RegExp(`${hook('gone')}\\s+failed\\s+attempts=1 status=404 event=${ev}`));

    // Replay: the batch's very input again, as a new workflow (what an operator's replay does).
    const workflowId = await batchOf(ev);
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const input = fromPayloadsAtIndex<IngestBatchInput>(defaultPayloadConverter, 0, history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads);
    rx.answers.set('/gone', [200]);
    rx.answers.set('/down', [200]);
    const replayed = (await client.workflow.execute('ingestBatch', { taskQueue: queue, workflowId: `${workflowId}-actions-replay-${s}`, args: [input] })) as { actions: { sent: number; failed: number } };
    // What was sent stays sent (nothing goes out again); what failed is tried again on replay,
    // and the action that is still not configured stays failed.
    expect(replayed.actions).toEqual({ sent: 2, failed: 1 });
    expect(hits('/ok')).toHaveLength(1);
    expect(hits('/flaky')).toHaveLength(2);
    expect(hits('/gone')).toHaveLength(2);
    expect(hits('/down')).toHaveLength(3);
    const after = new Map((await runs(ev)).map((r) => [r.action, r]));
    expect(after.get(hook('ok'))).toMatchObject({ state: 'sent', attempts: 1 });
    expect(after.get(hook('gone'))).toMatchObject({ state: 'sent', attempts: 2, response_status: 200, last_error: null });
    expect(after.get(hook('missing'))?.state).toBe('failed');

    // And once more: everything that was sent is skipped.
    const again = (await client.workflow.execute('ingestBatch', { taskQueue: queue, workflowId: `${workflowId}-actions-replay2-${s}`, args: [input] })) as { actions: { sent: number; failed: number } };
    expect(again.actions).toEqual({ sent: 0, failed: 1 });
    expect(rx.hits.filter((h) => h.eventId === ev)).toHaveLength(1 + 2 + 2 + 3);
  }, 180_000);

  it('sends a keyed action once per key, whichever events of one batch ask', async () => {
    const user = `user-${s}-keyed`;
    const res = await admin(beltline.url, 'PUT', `/projects/default/belts/${belt}`, {
      beltType: 'js-callback',
      eventTypes: [eventType],
      extractorFn: `function execute(headers, payload) {
        const id = headers['grnry-correlation-id'];
        return [Update(id, ['actions_test', 'last'], payload.n), Action(${JSON.stringify(hook('ok'))}, { user: id, n: payload.n }, { key: 'once/' + id })];
      }`,
    });
    expect(res.status).toBe(200);
    // One request with three events: one Kafka record, so one batch (the belt sees one profile).
    const events = [1, 2, 3].map((n) => ({ eventId: `ev-${s}-k${n}`, userId: user, n, actions: [] }));
    expect((await post(events)).status).toBeLessThan(300);
    const result = (await batchDone(`ev-${s}-k1`)) as { events: number; actions: { sent: number; failed: number } };
    expect(result.events).toBe(3);
    expect(result.actions).toEqual({ sent: 1, failed: 0 });
    expect((await pool.query("SELECT 1 FROM profiles WHERE id = $1 AND document->'actions_test'->>'last' = '3'", [user])).rowCount).toBe(1);
    const hits = (): Hit[] => rx.hits.filter((h) => (h.body as { user?: string }).user === user);
    expect(hits()).toHaveLength(1);
    // The earliest event's decision is the one recorded.
    expect(hits()[0]).toMatchObject({ eventId: `ev-${s}-k1`, body: { user, n: 1 } });
    // A later batch deciding the same key sends nothing either.
    expect((await post({ eventId: `ev-${s}-k4`, userId: user, n: 4, actions: [] })).status).toBeLessThan(300);
    expect(((await batchDone(`ev-${s}-k4`)) as { actions: unknown }).actions).toEqual({ sent: 0, failed: 0 });
    expect(hits()).toHaveLength(1);
    expect((await pool.query('SELECT count(*)::int AS n FROM action_runs WHERE dedupe_key = $1', [`once/${user}`])).rows[0].n).toBe(1);
  }, 120_000);
});
