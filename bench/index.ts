import crypto from 'node:crypto';
import path from 'node:path';
import { Pool } from 'pg';
import { loadConfig, REPO_ROOT, type Config } from '../src/config';
import { createKafka } from '../src/ingest/kafka';
import { startBeltline } from '../src/server';
import { stackUp } from '../src/stack';
import { benchCollector } from './collector';
import { benchProfiles } from './profiles';
import { benchSandbox } from './sandbox';
import { benchSegments } from './segments';

/**
 * `npm run bench`: end-to-end throughput and latency, collector → Kafka → Temporal → belt →
 * profile row, beside a baseline measured in the same run on the same machine: a plain kafkajs
 * consumer writing the same updates straight to PostgreSQL (the pipeline without Temporal).
 * Prints one JSON line. Figures are only meaningful as ratios: these machines are noisy.
 */

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const RATE_EVENTS = Math.min(N, Number(process.env.BENCH_RATE_EVENTS ?? 5000));
const PER_REQUEST = 10;
const CONCURRENCY = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tp2(run: string, from: number, count: number, sentAt: number): string {
  return JSON.stringify({
    schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
    data: Array.from({ length: count }, (_, i) => ({
      e: 'se',
      eid: crypto.randomUUID(),
      uid: `${run}-${from + i}`,
      se_ca: 'bench',
      se_ac: 'tick',
      se_va: String(from + i),
      p: 'srv',
      tv: 'bench',
      dtm: String(sentAt),
      stm: String(sentAt),
    })),
  });
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function waitForProfiles(pool: Pool, run: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM profiles WHERE id LIKE $1', [`${run}-%`]);
    if (rows[0].n >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${rows[0].n} of ${count} profiles after ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** Events at a fixed offered rate: latency from send to the profile row's commit. */
async function offeredRate(pool: Pool, url: string): Promise<{ rate: number; events: number; p50Ms: number; p99Ms: number }> {
  const run = `rate-${crypto.randomBytes(3).toString('hex')}`;
  const sentAt = new Map<number, number>();
  const requests = RATE_EVENTS / PER_REQUEST;
  const interval = (1000 * PER_REQUEST) / RATE;
  const start = Date.now();
  const pending: Promise<void>[] = [];
  for (let r = 0; r < requests; r++) {
    const due = start + r * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    const now = Date.now();
    for (let i = 0; i < PER_REQUEST; i++) sentAt.set(r * PER_REQUEST + i, now);
    pending.push(post(`${url}/com.snowplowanalytics.snowplow/tp2`, tp2(run, r * PER_REQUEST, PER_REQUEST, now)));
  }
  await Promise.all(pending);
  await waitForProfiles(pool, run, RATE_EVENTS, 300_000);
  const { rows } = await pool.query<{ id: string; at: number }>(
    `SELECT id, (extract(epoch FROM updated_at) * 1000)::float8 AS at FROM profiles WHERE id LIKE $1`,
    [`${run}-%`],
  );
  const latencies = rows.map((r) => r.at - (sentAt.get(Number(r.id.slice(run.length + 1))) ?? r.at)).sort((a, b) => a - b);
  return { rate: RATE, events: RATE_EVENTS, p50Ms: Math.round(percentile(latencies, 50)), p99Ms: Math.round(percentile(latencies, 99)) };
}

/** As fast as the collector takes them: events/s from the first send to the last profile row. */
async function fullSpeed(pool: Pool, url: string): Promise<{ events: number; seconds: number; eventsPerSec: number }> {
  const run = `full-${crypto.randomBytes(3).toString('hex')}`;
  const start = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const from = next;
        next += PER_REQUEST;
        await post(`${url}/com.snowplowanalytics.snowplow/tp2`, tp2(run, from, Math.min(PER_REQUEST, N - from), Date.now()));
      }
    }),
  );
  await waitForProfiles(pool, run, N, 600_000);
  const seconds = (Date.now() - start) / 1000;
  return { events: N, seconds: Math.round(seconds * 10) / 10, eventsPerSec: Math.round(N / seconds) };
}

/** The baseline: the same updates through Kafka into PostgreSQL by a plain kafkajs consumer. */
async function baseline(cfg: Config, pool: Pool): Promise<{ events: number; seconds: number; eventsPerSec: number }> {
  const topic = `bench-baseline-${crypto.randomBytes(3).toString('hex')}`;
  const kafka = createKafka(cfg, 'beltline-bench');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  await pool.query('CREATE TABLE IF NOT EXISTS bench_baseline (id text PRIMARY KEY, document jsonb NOT NULL)');

  const producer = kafka.producer();
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `${topic}-group`, maxWaitTimeInMs: cfg.BATCH_LINGER_MS });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let written = 0;
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const rows = batch.messages.map((m) => JSON.parse(m.value?.toString() ?? '{}') as { id: string; v: number });
      await pool.query(
        `INSERT INTO bench_baseline (id, document) SELECT id, jsonb_build_object('v', v) FROM unnest($1::text[], $2::int[]) AS t(id, v)
         ON CONFLICT (id) DO UPDATE SET document = excluded.document`,
        [rows.map((r) => r.id), rows.map((r) => r.v)],
      );
      written += rows.length;
    },
  });
  const start = Date.now();
  for (let from = 0; from < N; from += 1000) {
    const messages = Array.from({ length: Math.min(1000, N - from) }, (_, i) => ({
      key: `${topic}-${from + i}`,
      value: JSON.stringify({ id: `${topic}-${from + i}`, v: from + i }),
    }));
    await producer.send({ topic, messages, acks: -1 });
  }
  while (written < N) await sleep(20);
  const seconds = (Date.now() - start) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  await pool.query('DROP TABLE bench_baseline');
  return { events: N, seconds: Math.round(seconds * 10) / 10, eventsPerSec: Math.round(N / seconds) };
}

async function benchEndToEnd(): Promise<Record<string, unknown>> {
  const topic = `bench-raw-${crypto.randomBytes(3).toString('hex')}`;
  const cfg = loadConfig({
    ...process.env,
    BELTLINE_LOG_LEVEL: 'warn',
    BELTLINE_RAW_TOPIC: topic,
    BELTLINE_CONSUMER_GROUP: `${topic}-bridge`,
    BELTLINE_HTTP_PORT: process.env.BENCH_PORT ?? '18090',
    BELTLINE_BELTS_DIR: path.join(REPO_ROOT, 'bench', 'belts'),
  });
  const admin = createKafka(cfg, 'beltline-bench').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();

  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 4, options: '-c search_path=beltline,public' });
  const running = await startBeltline(cfg, ['collector', 'bridge', 'worker']);
  try {
    const url = running.url as string;
    const rate = await offeredRate(pool, url);
    const full = await fullSpeed(pool, url);
    const plain = await baseline(cfg, pool);
    return {
      bench: 'end-to-end',
      events: N,
      beltline: { fullSpeed: full, offeredRate: rate },
      baseline: { kind: 'kafkajs consumer → PostgreSQL upsert, no Temporal', ...plain },
      ratioToBaseline: Math.round((full.eventsPerSec / plain.eventsPerSec) * 1000) / 1000,
    };
  } finally {
    await running.stop();
    await pool.end();
  }
}

/** Every part prints one JSON line; BENCH_PARTS (comma-separated) picks some. */
const PARTS: Record<string, () => Promise<Record<string, unknown>>> = {
  'end-to-end': benchEndToEnd,
  collector: () => benchCollector(),
  sandbox: () => benchSandbox(),
  profiles: () => benchProfiles(),
  segments: () => benchSegments(),
};

async function main(): Promise<void> {
  await stackUp(loadConfig());
  const wanted = (process.env.BENCH_PARTS ?? Object.keys(PARTS).join(',')).split(',').map((p) => p.trim());
  for (const part of wanted) {
    const fn = PARTS[part];
    if (!fn) throw new Error(`BENCH_PARTS: unknown part ${part} (known: ${Object.keys(PARTS).join(', ')})`);
    console.log(JSON.stringify(await fn()));
  }
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
