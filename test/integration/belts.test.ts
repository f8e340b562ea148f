import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../../src/config';
import { admin, ensureEventType, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

describe('belts API: versions, errors, retry, backfill', () => {
  const s = Date.now().toString(36);
  // Its own task queue: workflows and workers of other test files never share it.
  const queue = `belts-test-${s}`;
  const input = `bt-in-${s}`;
  const user = `bt-user-${s}`;
  let pool: Pool;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('belts-test');
    beltline = await startBeltline({ port: 18088, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue } });
    await ensureEventType(beltline.url, { name: input, displayName: 'belt test input', eventIdExpression: '$.id', timestampExpression: '$.at', correlationIdExpression: '$.user' });
  }, 120_000);

  afterAll(async () => {
    for (const b of [`bt-${s}`, `bt-late-${s}`, `bt-cli-${s}`, `bt-py-${s}`]) await admin(beltline.url, 'DELETE', `/projects/default/belts/${b}`);
    await beltline?.stop();
    await pool?.end();
  });

  const post = (path: string, body: unknown) => admin(beltline.url, 'POST', path, body);
  const send = (events: unknown[]) =>
    fetch(`${beltline.url}/api/v1/events/${input}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
  const profile = async () => (await pool.query<{ document: Record<string, unknown> }>('SELECT document FROM profiles WHERE id = $1', [user])).rows[0]?.document;

  it('refuses bad definitions naming the problem', async () => {
    const ok = { name: `bt-${s}`, beltType: 'js-callback', eventTypes: [input], outputTypes: [], extractorFn: 'function execute() {}' };
    const cases: [unknown, string, RegExp][] = [
      [{ ...ok, eventTypes: ['nope'] }, 'eventTypes.0', /unknown event type "nope"/],
      [{ ...ok, outputTypes: [{ name: 'nope', version: 'latest' }] }, 'outputTypes.0.name', /unknown event type/],
      [{ ...ok, extractorFn: 'function execute(h, p) {\n  return {;\n}' }, 'extractorFn', /line 2, column/],
      [{ ...ok, beltType: 'cobol-callback' }, 'beltType', /./],
    ];
    for (const [body, field, message] of cases) {
      const res = await post('/projects/default/belts', body);
      expect(res.status).toBe(400);
      const err = (await res.json()) as { message: string; details: { field: string } };
      expect(err.details.field).toBe(field);
      expect(err.message).toMatch(message);
    }
  });

  it('runs a TypeScript belt, records failures per event, and a retry with a fixed version repairs them', async () => {
    const v1 = await post('/projects/default/belts', {
      name: `bt-${s}`,
      beltType: 'js-callback',
      eventTypes: [input],
      outputTypes: [],
      scale: 2,
      extractorFn: `
        function execute(headers: Record<string, string>, payload: { n: number }): unknown {
          if (payload.n === 3) throw new Error('three is not allowed');
          if (payload.n === 4) return DirectUpdate('somewhere-else', { id: 'x' });
          return [{ _operation: '_increment', _id: headers['grnry-correlation-id'], _path: ['ok'], _value: { _v: 1 } }];
        }`,
    });
    expect(v1.status).toBe(201);
    expect(await v1.json()).toMatchObject({ number: 1, running: true, source: 'api' });

    await new Promise((r) => setTimeout(r, 2500)); // the worker picks the new belt's queue up
    expect((await send([1, 2, 3, 4, 5].map((n) => ({ id: `${s}-${n}`, at: 1_700_000_000_000 + n, user, n })))).status).toBe(200);

    const errors = await waitFor('two belt errors', async () => {
      const res = await admin(beltline.url, 'GET', `/projects/default/belts/bt-${s}/errors`);
      const list = (await res.json()) as { eventId: string; error: { message: string } }[];
      return list.length === 2 ? list : undefined;
    });
    expect(Object.fromEntries(errors.map((e) => [e.eventId, e.error.message]))).toEqual({
      [`${s}-3`]: 'three is not allowed',
      [`${s}-4`]: expect.stringMatching(/DirectUpdate target "somewhere-else" is not in this belt's outputTypes/),
    });
    await waitFor('three good events applied', async () => ((await profile())?.ok === 3 ? true : undefined));

    const v2 = await admin(beltline.url, 'PUT', `/projects/default/belts/bt-${s}`, {
      beltType: 'js-callback',
      eventTypes: [input],
      // Two parameters: a one-parameter execute gets seed 000's envelope instead.
      extractorFn: "function execute(h, p) { return { _operation: '_increment', _id: h['grnry-correlation-id'], _path: ['ok'], _value: { _v: 1 } }; }",
    });
    expect(await v2.json()).toMatchObject({ number: 2 });
    const retry = await post(`/projects/default/belts/bt-${s}/retry`, {});
    expect(retry.status).toBe(202);
    await waitFor('the retry to repair both', async () => ((await profile())?.ok === 5 ? true : undefined));
    expect(await (await admin(beltline.url, 'GET', `/projects/default/belts/bt-${s}/errors`)).json()).toEqual([]);
    expect(((await (await admin(beltline.url, 'GET', `/projects/default/belts/bt-${s}/versions`)).json()) as unknown[]).length).toBe(2);
  }, 120_000);

  it('backfills a new belt over stored events, reproducing what live processing gives', async () => {
    const late = await post('/projects/default/belts', {
      name: `bt-late-${s}`,
      eventTypes: [input],
      extractorFn: "function execute(h, p) { return [Update(h['grnry-correlation-id'], ['late', 'last'], p.n), { _operation: '_increment', _id: h['grnry-correlation-id'], _path: ['late', 'count'], _value: { _v: 1 } }]; }",
    });
    expect(late.status).toBe(201);
    const res = await post(`/projects/default/belts/bt-late-${s}/backfill`, { since: '1970-01-01T00:00:00Z' });
    expect(res.status).toBe(202);
    const doc = await waitFor('the backfill', async () => {
      const d = await profile();
      return (d?.late as { count?: number } | undefined)?.count === 5 ? d : undefined;
    });
    // The last event by time wins, as it would have live.
    expect(doc.late).toEqual({ last: 5, count: 5 });

    // A stopped belt gets no new events; started again, new ones reach it.
    expect(await (await post(`/projects/default/belts/bt-late-${s}/stop`, {})).json()).toMatchObject({ running: false });
    await send([{ id: `${s}-6`, at: 1_700_000_000_006, user, n: 6 }]);
    await waitFor('the other belt to see event 6', async () => ((await profile())?.ok === 6 ? true : undefined));
    expect(((await profile())?.late as { count: number }).count).toBe(5);
  }, 120_000);

  it('does the same from the CLI, with a progress bar', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'belt-cli-'));
    const body = path.join(dir, 'belt.json');
    const code = path.join(dir, 'belt.ts');
    fs.writeFileSync(body, JSON.stringify({ name: `bt-cli-${s}`, beltType: 'js-callback', eventTypes: [input], scale: 1 }));
    fs.writeFileSync(code, "function execute(h: any, p: any) { return { _operation: '_increment', _id: h['grnry-correlation-id'], _path: ['cli'], _value: { _v: 1 } }; }\n");
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js'), ...args], { encoding: 'utf8', env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn', BELTLINE_TASK_QUEUE: queue } });
    const created = cli('belts', 'create', '--file', body, '--source', code);
    expect(created.stdout).toMatch(new RegExp(`belt bt-cli-${s} is at version 1`));
    const backfill = cli('belts', 'backfill', `bt-cli-${s}`, '--since', '1970-01-01T00:00:00Z');
    expect(backfill.stdout).toMatch(/backfill finished: 6 events, 0 failed again/);
    expect(backfill.status).toBe(0);
    expect((await profile())?.cli).toBe(6);
    expect(cli('belts', 'backfill', 'no-such-belt', '--since', '2020-01-01').stderr).toMatch(/no belt "no-such-belt"/);
    expect(cli('belts', 'backfill', `bt-cli-${s}`, '--since', 'last week').stderr).toMatch(/--since: not a date/);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('runs seed 000\'s Python callback unchanged, and refuses Python that does not compile', async () => {
    // Seed 000's callback.py, verbatim.
    const seed000 = [
      'import json',
      'import sys',
      '',
      'def execute(event):',
      '    if event:',
      '        try:',
      '            update = {',
      '                "_id":  event[\'payloadid\'][\'correlationid\'],',
      '                "_path": [',
      '                    "conversionfunnel",',
      '                    "goal-1"',
      '                ],',
      '                "_value": {',
      '                    "_v": event[\'payloadid\'][\'created\']',
      '                }',
      '            }',
      '            return update',
      '        except KeyError:',
      "            sys.stderr.write('key error')",
      '            return None',
    ].join('\n');
    const bad = await post('/projects/default/belts', { name: `bt-py-${s}`, beltType: 'python-callback', eventTypes: [input], extractorFn: 'def execute(e):\n  return {' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/line 2/);
    const created = await post('/projects/default/belts', { name: `bt-py-${s}`, beltType: 'python-callback', eventTypes: [input], extractorFn: seed000 });
    expect(created.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2500));
    const pyUser = `py-user-${s}`;
    await fetch(`${beltline.url}/api/v1/events/${input}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: `${s}-py`, at: 1_700_000_123_456, user: pyUser, n: 1 }),
    });
    const goal = await waitFor('the Python belt\'s update', async () => {
      const { rows } = await pool.query<{ document: { conversionfunnel?: Record<string, unknown> } }>('SELECT document FROM profiles WHERE id = $1', [pyUser]);
      return rows[0]?.document.conversionfunnel;
    });
    expect(goal).toEqual({ 'goal-1': 1_700_000_123_456 });
  }, 60_000);
});
