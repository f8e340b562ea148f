import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';

/**
 * The collector alone: tp2 batches of 10 events from concurrent keep-alive clients, events/s
 * accepted (each 200 means Kafka acknowledged the write, acks = all), beside a bare fastify
 * route measured the same way in the same run, which parses the same JSON and answers 200
 * without Kafka. The ratio is the collector's cost over plain HTTP + JSON on this machine;
 * absolute figures are noise across machines.
 *
 * Clients use fetch (undici is not a dependency, and fetch is undici underneath). They run in
 * this process, so they share the 2 cores with the servers: both targets pay the same client
 * cost, which keeps the ratio fair, not the absolute numbers.
 */

const PER_REQUEST = 10;
const CONCURRENCY = 8;
const WARMUP_REQUESTS = 200;
// Both targets are measured in alternating slices, so background load on a shared machine
// falls on both alike instead of on whichever happened to run during it.
const ROUNDS = 5;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';

export interface CollectorBenchOptions {
  /** Events to send to each target (default BENCH_COLLECTOR_EVENTS or 50,000, rounded up to whole requests of 10). */
  events?: number;
  /** The collector's port (default BENCH_COLLECTOR_PORT or 18160); the bare route takes the next one. */
  port?: number;
}

/** Request bodies made up front, so generating them is not measured; both targets get the same. */
function tp2Bodies(run: string, requests: number): string[] {
  const now = String(Date.now());
  return Array.from({ length: requests }, (_, r) =>
    JSON.stringify({
      schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
      data: Array.from({ length: PER_REQUEST }, (_, i) => ({
        e: 'se',
        eid: crypto.randomUUID(),
        uid: `${run}-${(r * PER_REQUEST + i) % 1000}`,
        se_ca: 'bench',
        se_ac: 'tick',
        se_va: String(r * PER_REQUEST + i),
        p: 'srv',
        tv: 'bench',
        dtm: now,
        stm: now,
      })),
    }),
  );
}

/** Sends every body with CONCURRENCY clients; any answer but 200 fails the run. Returns seconds. */
async function blast(url: string, bodies: string[]): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await res.text();
        if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
      }
    }),
  );
  return (performance.now() - start) / 1000;
}

/** The baseline: fastify's JSON parsing and a 200, nothing else. */
async function bareFastify(port: number, bodyLimit: number): Promise<FastifyInstance> {
  const { default: fastify } = await import('fastify');
  const app = fastify({ logger: false, bodyLimit });
  app.post(TP2, async (req) => ({ accepted: ((req.body as { data?: unknown[] }).data ?? []).length }));
  await app.listen({ host: '127.0.0.1', port });
  return app;
}

export async function benchCollector(opts: CollectorBenchOptions = {}): Promise<Record<string, unknown>> {
  // Loaded here rather than at the top: src/log reads BELTLINE_LOG_LEVEL when first loaded, and
  // run alone this file sets it first, so the printed JSON line is not buried in info logs.
  const { loadConfig } = await import('../src/config');
  const { createKafka } = await import('../src/kafka/producer');
  const { startBeltline } = await import('../src/server');

  const requests = Math.ceil((opts.events ?? Number(process.env.BENCH_COLLECTOR_EVENTS ?? 50_000)) / PER_REQUEST);
  const events = requests * PER_REQUEST;
  const port = opts.port ?? Number(process.env.BENCH_COLLECTOR_PORT ?? 18160);
  const topic = `bench-collector-${crypto.randomBytes(3).toString('hex')}`;
  const cfg = loadConfig({
    ...process.env,
    BELTLINE_RAW_TOPIC: topic,
    BELTLINE_HTTP_PORT: String(port),
    BELTLINE_ADMIN_KEY: process.env.BELTLINE_ADMIN_KEY ?? crypto.randomBytes(24).toString('hex'),
  });
  const kafka = createKafka(cfg, 'beltline-bench');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });

  const bodies = tp2Bodies(topic, requests);
  const warmup = tp2Bodies(`${topic}-warmup`, WARMUP_REQUESTS);
  let running: Awaited<ReturnType<typeof startBeltline>> | undefined;
  let bare: FastifyInstance | undefined;
  try {
    running = await startBeltline(cfg, ['collector']);
    bare = await bareFastify(port + 1, cfg.BELTLINE_MAX_BODY_BYTES);
    const collectorUrl = `${running.url}${TP2}`;
    const bareUrl = `http://127.0.0.1:${port + 1}${TP2}`;
    // Warm both (JIT, connections, the producer's metadata) before anything is timed.
    await blast(collectorUrl, warmup);
    await blast(bareUrl, warmup);
    let collectorSeconds = 0;
    let bareSeconds = 0;
    const slice = Math.ceil(bodies.length / ROUNDS);
    for (let r = 0; r < ROUNDS; r++) {
      const part = bodies.slice(r * slice, (r + 1) * slice);
      if (r % 2 === 0) {
        collectorSeconds += await blast(collectorUrl, part);
        bareSeconds += await blast(bareUrl, part);
      } else {
        bareSeconds += await blast(bareUrl, part);
        collectorSeconds += await blast(collectorUrl, part);
      }
    }

    // Each 200 was one acknowledged record: the topic must hold exactly that many.
    const offsets = await admin.fetchTopicOffsets(topic);
    const kafkaRecords = offsets.reduce((n, o) => n + Number(o.high), 0);
    if (kafkaRecords !== requests + WARMUP_REQUESTS) {
      throw new Error(`the topic holds ${kafkaRecords} records for ${requests + WARMUP_REQUESTS} accepted requests`);
    }
    const eventsPerSec = Math.round(events / collectorSeconds);
    const bareFastifyEventsPerSec = Math.round(events / bareSeconds);
    return {
      bench: 'collector',
      events,
      eventsPerSec,
      bareFastifyEventsPerSec,
      ratio: Math.round((eventsPerSec / bareFastifyEventsPerSec) * 1000) / 1000,
      requests,
      eventsPerRequest: PER_REQUEST,
      concurrency: CONCURRENCY,
      client: 'fetch',
      seconds: { collector: Math.round(collectorSeconds * 100) / 100, bareFastify: Math.round(bareSeconds * 100) / 100 },
      kafkaRecords,
    };
  } finally {
    await bare?.close();
    await running?.stop();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

if (require.main === module) {
  process.env.BELTLINE_LOG_LEVEL ??= 'warn';
  (async () => {
    const { loadConfig } = await import('../src/config');
    const { stackUp } = await import('../src/stack');
    await stackUp(loadConfig());
    console.log(JSON.stringify(await benchCollector()));
  })()
    .then(() => process.exit(0))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
