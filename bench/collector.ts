import crypto from 'node:crypto';
import path from 'node:path';
import { loadConfig, REPO_ROOT } from '../src/config';
import { createKafka } from '../src/kafka/producer';
import { stackStatus } from '../src/stack';
import type { LoadOptions, LoadReport } from './load';
import { httpAnswers } from '../src/stack/procs';
import { answers, assertRunning, cpuSnapshot, cpuUsPerEvent, runJson, spawnLogged, stop, type Child, type CpuSnapshot, type Watched } from './procs';

/**
 * The collector alone, as users run it: a `beltline start --role collector` process, tp2
 * batches of 10 events from the bench's load generator (a process of its own, 8 concurrent
 * keep-alive clients), events/s accepted (each 200 means Kafka acknowledged the write,
 * acks = all). Beside it, in the same run, a bare fastify process (`bench/bare-fastify.ts`)
 * that parses the same bodies and answers 200 without Kafka, loaded the same way. The ratio is
 * the collector's cost over plain HTTP + JSON on this machine; absolute figures are noise
 * across machines. CPU µs per event of each server process (and of Kafka, when the local stack
 * runs it) say where the difference goes, less noisily than throughput on a shared host.
 */

const PER_REQUEST = 10;
const CONCURRENCY = 8;
const WARMUP_EVENTS = 2000;
// Both targets are measured in alternating slices, so background load on a shared machine
// falls on both alike instead of on whichever happened to run during it.
const ROUNDS = 5;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
const LOAD = path.join(__dirname, 'load.js');
const BARE = path.join(__dirname, 'bare-fastify.js');

export interface CollectorBenchOptions {
  /** Events to send to each target (default BENCH_COLLECTOR_EVENTS or 50,000, rounded up to whole requests of 10). */
  events?: number;
  /** The collector's port (default BENCH_COLLECTOR_PORT or 18160); the bare route takes the next one. */
  port?: number;
}

interface Target {
  name: 'collector' | 'bareFastify';
  url: string;
  proc: Child;
  seconds: number;
  events: number;
  loadCpuUs: number;
  cpu: Record<string, number>;
}

export async function benchCollector(opts: CollectorBenchOptions = {}): Promise<Record<string, unknown>> {
  const cfg = loadConfig();
  const requests = Math.ceil((opts.events ?? Number(process.env.BENCH_COLLECTOR_EVENTS ?? 50_000)) / PER_REQUEST);
  const events = requests * PER_REQUEST;
  const port = opts.port ?? Number(process.env.BENCH_COLLECTOR_PORT ?? 18160);
  const id = crypto.randomBytes(3).toString('hex');
  const topic = `bench-collector-${id}`;
  const logDir = path.join(cfg.BELTLINE_HOME, 'logs');
  const kafka = createKafka(cfg, 'beltline-bench');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
  const procs: Child[] = [];
  try {
    for (const p of [port, port + 1]) if (await httpAnswers(`http://127.0.0.1:${p}/`)) throw new Error(`port ${p} is already in use; set BENCH_COLLECTOR_PORT to a free pair`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BELTLINE_RAW_TOPIC: topic,
      BELTLINE_HTTP_PORT: String(port),
      BELTLINE_LOG_LEVEL: process.env.BENCH_ROLE_LOG_LEVEL ?? 'info',
      BELTLINE_MICRO: 'false',
      // Set, so the collector does not log a generated one; nothing here uses the admin API.
      BELTLINE_ADMIN_KEY: crypto.randomBytes(24).toString('hex'),
    };
    delete env.BELTLINE_METRICS_PORT;
    // BENCH_ROLE_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the collector as run.
    const flags = (process.env.BENCH_ROLE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    const collector = spawnLogged('collector', ['--no-node-snapshot', ...flags, CLI, 'start', '--role', 'collector'], env, path.join(logDir, 'bench-collector-collector.log'), REPO_ROOT);
    procs.push(collector);
    const bare = spawnLogged('bare fastify', [BARE, String(port + 1), String(cfg.BELTLINE_MAX_BODY_BYTES)], process.env, path.join(logDir, 'bench-collector-bare-fastify.log'), REPO_ROOT);
    procs.push(bare);
    await answers(`the collector on port ${port}`, `http://127.0.0.1:${port}/openapi.json`, procs, (body) => body.includes(TP2));
    await answers(`bare fastify on port ${port + 1}`, `http://127.0.0.1:${port + 1}/health`, procs, (body) => body === 'bare');

    const kafkaServer: Watched[] = (await stackStatus(cfg)).flatMap((s) => (s.name === 'kafka' && s.pid ? [{ label: 'kafka', pid: s.pid }] : []));
    const targets: Target[] = [
      { name: 'collector', url: `http://127.0.0.1:${port}${TP2}`, proc: collector, seconds: 0, events: 0, loadCpuUs: 0, cpu: {} },
      { name: 'bareFastify', url: `http://127.0.0.1:${port + 1}${TP2}`, proc: bare, seconds: 0, events: 0, loadCpuUs: 0, cpu: {} },
    ];
    const cpuTicks = new Map<string, CpuSnapshot[]>();
    const load = async (t: Target, run: string, n: number, measured: boolean): Promise<void> => {
      const o: LoadOptions = { url: t.url, run, events: n, perRequest: PER_REQUEST, concurrency: CONCURRENCY };
      const watched: Watched[] = [{ label: 'server', pid: t.proc.pid }, ...(t.name === 'collector' ? kafkaServer : [])];
      const before = cpuSnapshot(watched);
      const { result } = await runJson<LoadReport>(`load generator (${t.name})`, [LOAD, JSON.stringify(o)], process.env, REPO_ROOT, () => assertRunning(procs));
      if (!measured) return;
      const after = cpuSnapshot(watched);
      t.seconds += (result.lastAckAt - result.firstSendAt) / 1000;
      t.events += n;
      t.loadCpuUs += result.cpuUs;
      const list = cpuTicks.get(t.name) ?? [];
      list.push(before, after);
      cpuTicks.set(t.name, list);
    };
    // Warm both (JIT, connections, the producer's metadata) before anything is timed.
    for (const t of targets) await load(t, `${topic}-warmup`, WARMUP_EVENTS, false);
    const slice = Math.ceil(requests / ROUNDS) * PER_REQUEST;
    for (let r = 0, sent = 0; sent < events; r++, sent += slice) {
      const n = Math.min(slice, events - sent);
      for (const t of r % 2 === 0 ? targets : [...targets].reverse()) await load(t, `${topic}-${r}`, n, true);
    }
    // Per process, CPU µs per event summed over the target's own slices.
    for (const t of targets) {
      const snaps = cpuTicks.get(t.name) ?? [];
      const sum: Record<string, number> = {};
      for (let i = 0; i < snaps.length; i += 2) {
        for (const [label, us] of Object.entries(cpuUsPerEvent(snaps[i], snaps[i + 1], 1))) sum[label] = (sum[label] ?? 0) + us;
      }
      t.cpu = Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, Math.round(v / t.events)]));
      t.cpu.loadGenerator = Math.round(t.loadCpuUs / t.events);
    }

    // Each 200 was one acknowledged record: the topic must hold exactly that many.
    const offsets = await admin.fetchTopicOffsets(topic);
    const kafkaRecords = offsets.reduce((n, o) => n + Number(o.high), 0);
    const sentRequests = requests + WARMUP_EVENTS / PER_REQUEST;
    if (kafkaRecords !== sentRequests) throw new Error(`the topic holds ${kafkaRecords} records for ${sentRequests} accepted requests`);
    const [c, b] = targets;
    const eventsPerSec = Math.round(c.events / c.seconds);
    const bareFastifyEventsPerSec = Math.round(b.events / b.seconds);
    return {
      bench: 'collector',
      events,
      eventsPerSec,
      bareFastifyEventsPerSec,
      ratio: Math.round((eventsPerSec / bareFastifyEventsPerSec) * 1000) / 1000,
      requests,
      eventsPerRequest: PER_REQUEST,
      concurrency: CONCURRENCY,
      cpuUsPerEvent: { collector: c.cpu, bareFastify: b.cpu },
      seconds: { collector: Math.round(c.seconds * 100) / 100, bareFastify: Math.round(b.seconds * 100) / 100 },
      kafkaRecords,
    };
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
