import net from 'node:net';
import { loadConfig } from '../../src/config';
import { startBeltline, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic, readAll } from '../support/kafka';

/**
 * GET /ready (issue 16) and the collector's graceful shutdown, on the real stack. Dependencies
 * that are down are simulated by pointing a process at a closed port, never by stopping the
 * shared stack's servers.
 */
const PORT = 18420;
/** Nothing listens here (the top of this file's port range). */
const DEAD = '127.0.0.1:18449';
/** Nothing listens here at first; later a TCP proxy to Temporal does. */
const LATE = 18448;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const SECRET = 'not-this-password';

interface Dependency {
  status: 'up' | 'down';
  required: boolean;
  ms: number;
  reason?: string;
}
interface ReadyBody {
  status?: string;
  error?: string;
  message?: string;
  details?: { dependencies: Record<string, Dependency> };
  dependencies?: Record<string, Dependency>;
}

async function ready(base: string): Promise<{ status: number; body: ReadyBody; text: string }> {
  const res = await fetch(`${base}/ready`);
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as ReadyBody, text };
}

function exitOf(p: BeltlineProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) resolve(p.child.exitCode);
    else p.child.once('exit', (code) => resolve(code));
  });
}

describe('readiness and the collector shutdown', () => {
  let topic: string;
  let collector: BeltlineProcess | undefined;
  const others: BeltlineProcess[] = [];

  beforeAll(async () => {
    ({ topic } = await freshTopic('readiness', 2));
    // A shutdown delay: /ready says 503 for 1.5 s while requests are still served.
    collector = await startBeltline({ roles: ['collector'], port: PORT, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_SHUTDOWN_DELAY: '1500ms' } });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([collector, ...others].map((p) => p?.stop()));
  });

  it('answers 200 naming each dependency up, and declares the route in the OpenAPI document', async () => {
    const { status, body } = await ready(`http://127.0.0.1:${PORT}`);
    expect(status).toBe(200);
    expect(body.status).toBe('ready');
    // The collector needs Kafka alone; PostgreSQL and Temporal are reported.
    expect(body.dependencies).toEqual({
      kafka: { status: 'up', required: true, ms: expect.any(Number) },
      temporal: { status: 'up', required: false, ms: expect.any(Number) },
      postgres: { status: 'up', required: false, ms: expect.any(Number) },
    });
    const openapi = (await (await fetch(`http://127.0.0.1:${PORT}/openapi.json`)).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown>; security?: unknown } }> };
    expect(Object.keys(openapi.paths['/ready'].get?.responses ?? {}).sort()).toEqual(['200', '503']);
  });

  it('says which dependency is down, and why, when one is unreachable; a process waiting for one at start says so instead of exiting, and starts once it answers', async () => {
    const [noKafka, noTemporal, noPostgres] = await Promise.all([
      // The collector starts without Kafka (its producer connects on demand) and is not ready.
      startBeltline({ roles: ['collector'], port: PORT + 1, env: { BELTLINE_RAW_TOPIC: topic, KAFKA_BROKERS: DEAD } }),
      // A worker and a bridge cannot start without Temporal / PostgreSQL: they wait, probed on their metrics listener.
      startBeltline({
        roles: ['worker'],
        port: PORT + 2,
        env: { TEMPORAL_ADDRESS: `127.0.0.1:${LATE}`, BELTLINE_TASK_QUEUE: `${process.env.BELTLINE_TASK_QUEUE ?? 'beltline'}-readiness`, BELTLINE_METRICS_PORT: String(PORT + 3) },
        until: 'could not start: temporal unreachable',
      }),
      startBeltline({
        roles: ['bridge'],
        port: PORT + 4,
        env: { DATABASE_URL: `postgres://postgres:${SECRET}@${DEAD}/beltline`, BELTLINE_METRICS_PORT: String(PORT + 5) },
        until: 'could not start: postgres unreachable',
      }),
    ]);
    others.push(noKafka, noTemporal, noPostgres);

    const kafka = await ready(noKafka.url);
    expect(kafka.status).toBe(503);
    expect(kafka.body).toMatchObject({ error: 'not_ready', message: expect.stringMatching(/^kafka unreachable: .*ECONNREFUSED/) });
    expect(kafka.body.details?.dependencies.kafka).toMatchObject({ status: 'down', required: true });
    expect(kafka.body.details?.dependencies.postgres).toMatchObject({ status: 'up' });
    expect((await fetch(`${noKafka.url}/health`)).status).toBe(200);

    const temporal = await ready(`http://127.0.0.1:${PORT + 3}`);
    expect(temporal.status).toBe(503);
    expect(temporal.body).toMatchObject({ error: 'starting', message: expect.stringContaining('temporal unreachable') });
    expect(temporal.body.details?.dependencies).toMatchObject({ temporal: { status: 'down', required: true }, kafka: { status: 'up' }, postgres: { status: 'up' } });
    expect((await fetch(`http://127.0.0.1:${PORT + 3}/health`)).status).toBe(200);

    const postgres = await ready(`http://127.0.0.1:${PORT + 5}`);
    expect(postgres.status).toBe(503);
    expect(postgres.body).toMatchObject({ error: 'starting', message: expect.stringMatching(/postgres unreachable: .*ECONNREFUSED/) });
    expect(postgres.body.details?.dependencies).toMatchObject({ postgres: { status: 'down', required: true }, kafka: { status: 'up' }, temporal: { status: 'up' } });
    expect(postgres.text).not.toContain(SECRET);

    // Stopped while waiting: nothing ran, and it exits 0.
    noPostgres.child.kill('SIGTERM');
    expect(await exitOf(noPostgres)).toBe(0);

    // Temporal appears (a proxy to the stack's): the waiting worker starts, and is ready.
    const [host, port] = loadConfig().TEMPORAL_ADDRESS.split(':');
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(port), host);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(LATE, '127.0.0.1', resolve));
    try {
      await waitFor('the worker to start', async () => (noTemporal.output().includes('beltline running') ? true : undefined), 60_000);
      expect((await ready(`http://127.0.0.1:${PORT + 3}`)).body).toMatchObject({ status: 'ready', dependencies: { temporal: { status: 'up', required: true } } });
      noTemporal.child.kill('SIGTERM');
      expect(await exitOf(noTemporal)).toBe(0);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  }, 120_000);

  it('on SIGTERM stops accepting: every request answered 200 is in Kafka, later ones are refused, and it exits 0', async () => {
    const proc = collector as BeltlineProcess;
    const base = `http://127.0.0.1:${PORT}`;
    const acked: string[] = [];
    let ackedAfterSignal = 0;
    let refused = 0;
    const statuses = new Set<number>();
    let signalled = false;
    let exited = false;
    let n = 0;
    const sender = async (s: number): Promise<void> => {
      while (!exited) {
        const eid = `00000000-0000-4000-8000-${String(s).padStart(4, '0')}${String(n++).padStart(8, '0')}`;
        try {
          const res = await fetch(`${base}${TP2}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [{ e: 'pv', eid, p: 'web', tv: 'test', url: 'https://example.com/' }] }),
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            acked.push(eid);
            if (signalled) ackedAfterSignal++;
          } else {
            statuses.add(res.status);
            refused++;
          }
        } catch {
          // Connection refused or closed: the collector no longer takes requests.
          refused++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const exit = exitOf(proc);
    void exit.then(() => (exited = true));
    const senders = Promise.all(Array.from({ length: 6 }, (_, s) => sender(s)));
    await waitFor('requests flowing', async () => (acked.length >= 50 ? true : undefined));

    proc.child.kill('SIGTERM');
    signalled = true;
    // During the shutdown delay: not ready, still serving.
    const during = await waitFor('/ready to answer 503', async () => {
      const r = await ready(base);
      return r.status === 503 ? r.body : undefined;
    });
    expect(during).toMatchObject({ error: 'shutting_down' });
    expect(await exit).toBe(0);
    await senders;
    collector = undefined;

    expect(ackedAfterSignal).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    // A request on a kept-alive connection after the listener closed: 503, nothing else.
    expect([...statuses].filter((s) => s !== 503)).toEqual([]);
    expect(proc.output()).toContain('collector stopped accepting');
    const stored = new Set((await readAll(topic, acked.length)).flatMap((v) => [...v.matchAll(/00000000-0000-4000-8000-\d{12}/g)].map((m) => m[0])));
    expect(acked.filter((eid) => !stored.has(eid))).toEqual([]);
  }, 120_000);
});
