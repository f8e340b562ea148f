import type { Pool } from 'pg';
import type { StatusReport } from '../../src/status/status';
import { admin, ADMIN_KEY, ensureEventType, startBeltline, testPool, waitFor, type BeltlineProcess, runCli } from '../support/beltline';
import { metric } from '../support/metrics';
import { freshTopic } from '../support/kafka';
import { sendEvents } from '../support/tracker';


const cli = (env: Record<string, string>, ...args: string[]): ReturnType<typeof runCli> => runCli(args, { BELTLINE_LOG_LEVEL: 'silent', ...env });


describe('metrics and status', () => {
  const s = Date.now().toString(36);
  const type = `mt-${s}`;
  const belt = `mt-fail-${s}`;
  const queue = `metrics-test-${s}`;
  let pool: Pool;
  let beltline: BeltlineProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    pool = testPool();
    const { topic, group } = await freshTopic('metrics-test');
    env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue };
    beltline = await startBeltline({ port: 18122, env: { ...env, BELTLINE_METRICS_PORT: '18123' } });
    await ensureEventType(beltline.url, { name: type, displayName: 'metrics test', eventIdExpression: '$.id', timestampExpression: '$.at', correlationIdExpression: '$.user' });
    const res = await admin(beltline.url, 'POST', '/projects/default/belts', {
      name: belt,
      eventTypes: [type],
      extractorFn: "function execute(h, p) { if (p.n % 2 === 1) throw new Error('odd ' + p.n); return { _operation: '_increment', _id: h['grnry-correlation-id'], _path: ['even'], _value: { _v: 1 } }; }",
    });
    expect(res.status).toBe(201);
    await new Promise((r) => setTimeout(r, 2500)); // the worker picks the new belt's queue up
  }, 120_000);

  afterAll(async () => {
    if (beltline) await admin(beltline.url, 'DELETE', `/projects/default/belts/${belt}`);
    await beltline?.stop();
    await pool?.end();
  });

  it("says at start that its kafkajs has beltline's fixes in place", () => {
    const running = beltline
      .output()
      .split('\n')
      .find((l) => l.includes('"msg":"beltline running"'));
    expect(JSON.parse(running ?? '{}')).toMatchObject({ kafkajs: { version: '2.2.4', idleLoopFix: true, groupingFix: true, missing: false } });
  });

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${beltline.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  it('counts what the test produced: events, batches, bad rows by type, belt errors by belt, lag, apply latency', async () => {
    const before = await scrape();
    const user = `mt-user-${s}`;
    // Six good events (three fail in the belt: odd n), two without an id (adapter_failures bad rows).
    const events = [1, 2, 3, 4, 5, 6].map((n) => ({ id: `${s}-${n}`, at: 1_700_000_000_000 + n, user, n }));
    const res = await fetch(`${beltline.url}/api/v1/events/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([...events, { at: 1, user, n: 7 }, { at: 2, user, n: 8 }]),
    });
    expect(res.status).toBe(200);
    await sendEvents({ port: 18122, count: 3, userId: `mt-sp-${s}` });

    const after = await waitFor('the batches to complete', async () => {
      const t = await scrape();
      const started = metric(t, 'beltline_batches_started_total', { topic: env.BELTLINE_RAW_TOPIC }) - metric(before, 'beltline_batches_started_total', { topic: env.BELTLINE_RAW_TOPIC });
      const completed = metric(t, 'beltline_batches_completed_total') - metric(before, 'beltline_batches_completed_total');
      const lag = metric(t, 'beltline_consumer_lag', { topic: env.BELTLINE_RAW_TOPIC });
      return started >= 1 && completed === started && lag === 0 && metric(t, 'beltline_belt_errors_total', { belt }) === 3 ? t : undefined;
    });
    const delta = (name: string, labels: Record<string, string> = {}) => metric(after, name, labels) - metric(before, name, labels);
    expect(delta('beltline_events_accepted_total', { event_type: type })).toBe(8);
    expect(delta('beltline_events_accepted_total', { event_type: 'snowplow' })).toBe(3);
    expect(delta('beltline_bad_rows_total', { type: 'adapter_failures' })).toBe(2);
    expect(delta('beltline_belt_errors_total', { belt })).toBe(3);
    expect(delta('beltline_batches_failed_total')).toBe(0);
    // One apply transaction per batch, and one more for a batch whose belts include one with a task
    // queue of its own (the fixture passthrough takes the test's JSON events).
    const completed = delta('beltline_batches_completed_total');
    expect(delta('beltline_apply_batch_duration_seconds_count')).toBeGreaterThanOrEqual(completed);
    expect(delta('beltline_apply_batch_duration_seconds_count')).toBeLessThanOrEqual(2 * completed);
    // The three even events, each one increment, and the fixture belts' updates of the others.
    expect(delta('beltline_updates_applied_total')).toBeGreaterThanOrEqual(3);
    // Every partition of the test's topic has a lag sample.
    expect(after).toMatch(new RegExp(`beltline_consumer_lag\\{group="${env.BELTLINE_CONSUMER_GROUP}",topic="${env.BELTLINE_RAW_TOPIC}",partition="0"\\} 0`));
    expect(after).toMatch(new RegExp(`beltline_consumer_lag\\{group="${env.BELTLINE_CONSUMER_GROUP}",topic="${env.BELTLINE_RAW_TOPIC}",partition="1"\\} 0`));

    // The same registry on the process's own metrics port (no key); the collector's asks for one.
    const own = await fetch('http://127.0.0.1:18123/metrics');
    expect(own.status).toBe(200);
    expect(metric(await own.text(), 'beltline_belt_errors_total', { belt })).toBe(3);
    expect((await fetch('http://127.0.0.1:18123/other')).status).toBe(404);
    expect((await fetch(`${beltline.url}/metrics`)).status).toBe(401);
  }, 120_000);

  it('beltline status shows the failing belt, the bad rows and the lag; exits 3 naming a service it cannot reach', async () => {
    const ok = await cli(env, 'status', '--json');
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout) as StatusReport;
    expect(report.unreachable).toEqual([]);
    if (!report.failingBelts.ok || !report.badRows.ok || !report.lag.ok || !report.failedBatches.ok) throw new Error(ok.stdout);
    expect(report.failingBelts.value.find((b) => b.belt === belt)).toMatchObject({ belt, errors: 3, lastError: expect.stringMatching(/^odd [135]$/) });
    expect(report.badRows.value.find((b) => b.type === 'adapter_failures')?.count).toBeGreaterThanOrEqual(2);
    expect(report.lag.value.group).toBe(env.BELTLINE_CONSUMER_GROUP);
    expect(report.lag.value.partitions.filter((p) => p.topic === env.BELTLINE_RAW_TOPIC).map((p) => p.lag)).toEqual([0, 0]);
    expect(report.failedBatches.value).toEqual([]);

    const text = await cli(env, 'status');
    expect(text.stdout).toMatch(new RegExp(`${belt}: 3 errors, last at .*: odd [135]`));
    expect(text.stdout).toMatch(/adapter_failures: \d+/);

    // Kafka away (nothing listens on this port): the other parts still answer.
    const down = await cli({ ...env, KAFKA_BROKERS: '127.0.0.1:18129' }, 'status', '--json');
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/unreachable: Kafka/);
    const partial = JSON.parse(down.stdout) as StatusReport;
    expect(partial.unreachable).toEqual(['Kafka']);
    expect(partial.lag).toMatchObject({ ok: false, service: 'Kafka' });
    expect(partial.failingBelts.ok).toBe(true);
  }, 90_000);
});
