import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from '../src/kafka/kafkajs';
import { Pool } from 'pg';
import { loadConfig, REPO_ROOT, type Config } from '../src/config';
import { stackStatus } from '../src/stack';
import { workflowPollers } from '../src/temporal/pollers';
import type { LoadOptions, LoadReport } from './load';
import { httpAnswers } from '../src/stack/procs';
import { answers, assertRunning, cpuSnapshot, cpuUsPerEvent, runJson, spawnLogged, stop, stopAll, type Child, type Watched } from './procs';

/**
 * The `end-to-end` part: beltline as a user deploys it on a 2-core host — one process per role
 * (`beltline start --role collector|bridge|worker`) — fed by a load generator in a process of
 * its own with Snowplow tp2 requests, measured from the first send to the profile rows in
 * PostgreSQL. Beside it, in the same run, the same requests through the same collector to a
 * plain kafkajs consumer upserting rows (the baseline), and the same pipeline with one workflow
 * per event. Only what a user sees is used: the CLI and its environment, the collector's HTTP
 * route, `beltline.profiles`, and Temporal's visibility and describe APIs.
 *
 * Everything runs in a database of its own on the configured PostgreSQL server (dropped at the
 * end), so the bench's belt folder, profiles and events never mix with those of `npm start`;
 * each phase has its own topic, consumer group, port and task queue.
 */

const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
const LOAD = path.join(__dirname, 'load.js');
const BASELINE = path.join(__dirname, 'baseline-consumer.js');
const BENCH_BELTS = path.join(REPO_ROOT, 'bench', 'belts');

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: a positive number, not ${JSON.stringify(v)}`);
  return n;
};

export interface Settings {
  events: number;
  warmupEvents: number;
  rateSeconds: number;
  rate5kSeconds: number;
  perEventEvents: number;
  basePort: number;
  concurrency: number;
}

export function settings(): Settings {
  return {
    events: num('BENCH_EVENTS', 20_000),
    warmupEvents: num('BENCH_WARMUP_EVENTS', 1000),
    rateSeconds: num('BENCH_RATE_SECONDS', 10),
    rate5kSeconds: num('BENCH_RATE_SECONDS', 5),
    perEventEvents: num('BENCH_PER_EVENT_EVENTS', 300),
    basePort: num('BENCH_PORT', 18090),
    concurrency: 8,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** What one phase owns; all of it is made fresh and removed afterwards. */
interface Phase {
  name: string;
  topic: string;
  group: string;
  port: number;
  taskQueue: string;
  url: string;
}

export class EndToEnd {
  private readonly run = crypto.randomBytes(3).toString('hex');
  private readonly database = `beltline_bench_${this.run}`;
  private readonly databaseUrl: string;
  private readonly kafka: Kafka;
  private readonly topics: string[] = [];
  private readonly groups: string[] = [];
  private pool?: Pool;
  private temporal?: Client;
  private servers: Watched[] = [];
  private readonly logDir: string;
  private readonly roleLogLevel: string;

  constructor(
    private readonly cfg: Config,
    private readonly s: Settings,
    roleLogLevel: string,
  ) {
    const url = new URL(cfg.databaseUrl);
    url.pathname = `/${this.database}`;
    this.databaseUrl = url.toString();
    this.kafka = new Kafka({ clientId: 'beltline-bench', brokers: cfg.kafkaBrokers, logLevel: logLevel.NOTHING });
    this.logDir = path.join(cfg.BELTLINE_HOME, 'logs');
    this.roleLogLevel = roleLogLevel;
  }

  private phase(name: string, offset: number): Phase {
    // Letters, digits and dashes only: these go into topic names, LIKE patterns and queries.
    const id = `bench-${this.run}-${name}`;
    const port = this.s.basePort + offset;
    return { name, topic: id, group: `${id}-group`, port, taskQueue: id, url: `http://127.0.0.1:${port}${TP2}` };
  }

  async setUp(): Promise<void> {
    const maintenance = new URL(this.cfg.databaseUrl);
    maintenance.pathname = '/postgres';
    const admin = new Pool({ connectionString: maintenance.toString(), max: 1 });
    try {
      await admin.query(`CREATE DATABASE ${this.database}`);
    } catch (err) {
      throw new Error(`could not create the bench's database ${this.database} (the bench needs CREATEDB on ${maintenance.host}): ${(err as Error).message}`);
    } finally {
      await admin.end();
    }
    this.pool = new Pool({ connectionString: this.databaseUrl, max: 2 });
    this.temporal = new Client({ connection: await Connection.connect({ address: this.cfg.TEMPORAL_ADDRESS }), namespace: this.cfg.TEMPORAL_NAMESPACE });
    // The servers' pids, when the local stack runs them: their CPU is part of the cost.
    this.servers = (await stackStatus(this.cfg)).flatMap((s) => (s.pid ? [{ label: s.name, pid: s.pid, tree: s.name === 'postgres' }] : []));
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  async tearDown(): Promise<void> {
    await stopAll();
    const admin = this.kafka.admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups(this.groups).catch(() => undefined);
    await admin.deleteTopics({ topics: this.topics }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.temporal?.connection.close().catch(() => undefined);
    const maintenance = new URL(this.cfg.databaseUrl);
    maintenance.pathname = '/postgres';
    const pg = new Pool({ connectionString: maintenance.toString(), max: 1 });
    await pg.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`).catch((err: unknown) => {
      process.stderr.write(`bench: could not drop the database ${this.database}: ${(err as Error).message}\n`);
    });
    await pg.end();
  }

  private async createTopic(p: Phase): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      this.topics.push(p.topic);
      this.groups.push(p.group);
      await admin.createTopics({ topics: [{ topic: p.topic, numPartitions: this.cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  private env(p: Phase, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BELTLINE_HOME: this.cfg.BELTLINE_HOME,
      DATABASE_URL: this.databaseUrl,
      BELTLINE_RAW_TOPIC: p.topic,
      BELTLINE_RAW_PARTITIONS: String(this.cfg.BELTLINE_RAW_PARTITIONS),
      BELTLINE_CONSUMER_GROUP: p.group,
      BELTLINE_HTTP_PORT: String(p.port),
      BELTLINE_BELTS_DIR: BENCH_BELTS,
      BELTLINE_TASK_QUEUE: p.taskQueue,
      BELTLINE_LOG_LEVEL: this.roleLogLevel,
      BELTLINE_MICRO: 'false',
      // Set, so the collector does not log a generated one; nothing here uses the admin API.
      BELTLINE_ADMIN_KEY: crypto.randomBytes(24).toString('hex'),
      ...extra,
    };
    // Three processes on one host cannot share one metrics port.
    delete env.BELTLINE_METRICS_PORT;
    return env;
  }

  /** Something else answering on the phase's port would be measured instead of the collector. */
  private async portFree(p: Phase): Promise<void> {
    if (await httpAnswers(`http://127.0.0.1:${p.port}/`)) throw new Error(`${p.name}: port ${p.port} is already in use; set BENCH_PORT to a free range (the bench takes 7 ports from it)`);
  }

  /** `label` names the log when a phase runs a role twice (worker-1, worker-2). */
  private spawnRole(p: Phase, role: string, extra: NodeJS.ProcessEnv = {}, label = role): Child {
    const log = path.join(this.logDir, `bench-${p.name}-${label}.log`);
    // BENCH_ROLE_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`): node flags for the role
    // processes alone, for profiling what users run; node refuses --cpu-prof in NODE_OPTIONS.
    const flags = (process.env.BENCH_ROLE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
    return spawnLogged(label, ['--no-node-snapshot', ...flags, CLI, 'start', '--role', role], this.env(p, extra), log, REPO_ROOT);
  }

  /** Waits until the collector answers HTTP; a role that exits meanwhile fails the phase. */
  private async collectorUp(p: Phase, roles: readonly Child[]): Promise<void> {
    const isCollector = (body: string): boolean => (JSON.parse(body) as { paths?: Record<string, unknown> }).paths?.[TP2] !== undefined;
    await answers(`${p.name}: the collector on port ${p.port}`, `http://127.0.0.1:${p.port}/openapi.json`, roles, isCollector);
  }

  private load(p: Phase, o: Omit<LoadOptions, 'url'>, roles: readonly Child[]): Promise<{ result: LoadReport; pid: number }> {
    return runJson(`load generator (${p.name})`, [LOAD, JSON.stringify({ ...o, url: p.url })], process.env, REPO_ROOT, () => assertRunning(roles));
  }

  private async count(table: string, prefix: string): Promise<number> {
    const { rows } = await (this.pool as Pool).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE id LIKE $1`, [`${prefix}-%`]);
    return rows[0].n;
  }

  /** Waits for `count` rows of the run; returns when the last one was there (epoch ms). */
  private async rowsLanded(table: string, prefix: string, count: number, roles: readonly Child[]): Promise<number> {
    // Generous: a slow pipeline should give a slow figure, not a failure.
    const timeoutMs = Math.max(120_000, count * 20);
    const deadline = Date.now() + timeoutMs;
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      assertRunning(roles);
      const n = await this.count(table, prefix);
      if (n >= count) return Date.now();
      if (n !== last) {
        last = n;
        lastChange = Date.now();
      }
      if (Date.now() > deadline || Date.now() - lastChange > 60_000) {
        throw new Error(`${prefix}: ${n} of ${count} rows in ${table} after ${round((Date.now() - deadline + timeoutMs) / 1000)} s (no progress for ${round((Date.now() - lastChange) / 1000)} s); logs in ${this.logDir}`);
      }
      await sleep(200);
    }
  }

  /** Latency of each event: its profile row's updated_at minus the send time the belt wrote. */
  private async latency(prefix: string, events: number): Promise<{ p50Ms: number; p99Ms: number; maxMs: number }> {
    const { rows } = await (this.pool as Pool).query<{ n: number; p50: number; p99: number; max: number }>(
      `SELECT count(l)::int AS n, percentile_disc(0.5) WITHIN GROUP (ORDER BY l) AS p50,
              percentile_disc(0.99) WITHIN GROUP (ORDER BY l) AS p99, max(l) AS max
         FROM (SELECT extract(epoch FROM updated_at) * 1000 - (document->>'sentAt')::float8 AS l
                 FROM beltline.profiles WHERE id LIKE $1) t`,
      [`${prefix}-%`],
    );
    const r = rows[0];
    if (r.n !== events) throw new Error(`${prefix}: ${r.n} of ${events} profiles carry sentAt: is bench/belts/bench.js the belt that ran?`);
    return { p50Ms: round(r.p50), p99Ms: round(r.p99), maxMs: round(r.max) };
  }

  /**
   * Where an offered-rate run's latency went, p50 and p99 of each stage, per event: send →
   * staged (collector, Kafka, the bridge's fetch linger and staging), staged → its batch's
   * transaction began (workflow start, task dispatch, loading the batch, belts), transaction →
   * profile row written. From the batch's staged_batches row and the event's stored copy.
   */
  private async stages(prefix: string): Promise<Record<string, number>> {
    const { rows } = await (this.pool as Pool).query<Record<string, number>>(
      `WITH l AS (
         SELECT extract(epoch FROM s.staged_at) * 1000 - (p.document->>'sentAt')::float8 AS staged,
                extract(epoch FROM s.done_at - s.staged_at) * 1000 AS started,
                extract(epoch FROM p.updated_at - s.done_at) * 1000 AS applied
           FROM beltline.profiles p
           JOIN beltline.events e ON e.correlation_id = p.id
           JOIN beltline.staged_batches s ON s.batch_id = e.batch_id
          WHERE p.id LIKE $1)
       SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY staged) AS "sentToStagedP50",
              percentile_disc(0.99) WITHIN GROUP (ORDER BY staged) AS "sentToStagedP99",
              percentile_disc(0.5) WITHIN GROUP (ORDER BY started) AS "stagedToTxP50",
              percentile_disc(0.99) WITHIN GROUP (ORDER BY started) AS "stagedToTxP99",
              percentile_disc(0.5) WITHIN GROUP (ORDER BY applied) AS "txToProfileP50",
              percentile_disc(0.99) WITHIN GROUP (ORDER BY applied) AS "txToProfileP99",
              count(*)::int AS n
         FROM l`,
      [`${prefix}-%`],
    );
    const { n, ...r } = rows[0];
    return n === 0 ? {} : Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(Number(v))]));
  }

  /**
   * Temporal's own account of the workflows a run started, found by the search attribute the
   * bridge sets (BeltlineSource = topic) and their start time: once every one is closed, the
   * sum of their history sizes as describe() reports them.
   */
  private async history(p: Phase, since: Date): Promise<{ workflows: number; historyBytes: number }> {
    const client = this.temporal as Client;
    const { query } = await this.settled(p, since);
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    let historyBytes = 0;
    for (let i = 0; i < ids.length; i += 16) {
      const sizes = await Promise.all(
        ids.slice(i, i + 16).map(async (id) => {
          const d = await client.workflow.getHandle(id).describe();
          const raw = d.raw.workflowExecutionInfo?.historySizeBytes;
          return d.historySize ?? (raw ? Number(raw.toString()) : 0);
        }),
      );
      historyBytes += sizes.reduce((a, b) => a + b, 0);
    }
    return { workflows: ids.length, historyBytes };
  }

  /**
   * Waits until every workflow a run started is closed; returns how many there are and the
   * visibility query that finds them (the search attribute the bridge sets, BeltlineSource = topic,
   * and their start time).
   */
  private async settled(p: Phase, since: Date): Promise<{ query: string; workflows: number }> {
    const client = this.temporal as Client;
    const query = `BeltlineSource = '${p.topic}' AND StartTime >= '${since.toISOString()}'`;
    const deadline = Date.now() + 120_000;
    let seen = -1;
    for (;;) {
      // Visibility lags behind: wait until nothing runs and the total stopped moving.
      const [running, total] = await Promise.all([client.workflow.count(`${query} AND ExecutionStatus = 'Running'`), client.workflow.count(query)]);
      if (running.count === 0 && total.count === seen && total.count > 0) return { query, workflows: total.count };
      if (Date.now() > deadline) throw new Error(`${p.name}: ${running.count} of ${total.count} workflows still running after 120 s`);
      seen = total.count;
      await sleep(1000);
    }
  }

  private async deleteRows(prefix: string): Promise<void> {
    await (this.pool as Pool).query('DELETE FROM beltline.profiles WHERE id LIKE $1', [`${prefix}-%`]);
  }

  /** Starts the three roles, warms them up (JIT, connections, consumer group joined) end to end. */
  private async pipeline(p: Phase, extra: NodeJS.ProcessEnv = {}, warmup = { events: this.s.warmupEvents, perRequest: 10 }): Promise<Child[]> {
    await this.portFree(p);
    await this.createTopic(p);
    const roles = ['collector', 'bridge', 'worker'].map((r) => this.spawnRole(p, r, extra));
    await this.collectorUp(p, roles);
    const prefix = `${p.topic}-warm`;
    await this.load(p, { run: prefix, events: warmup.events, perRequest: warmup.perRequest, concurrency: this.s.concurrency }, roles);
    await this.rowsLanded('beltline.profiles', prefix, warmup.events, roles);
    await this.deleteRows(prefix);
    return roles;
  }

  /** The processes whose CPU a run counts: the pipeline's roles, and the stack's servers. */
  private watched(roles: readonly Child[]): Watched[] {
    const [collector, bridge, worker] = roles;
    return [{ label: 'collector', pid: collector.pid }, { label: 'bridge', pid: bridge.pid }, { label: 'worker', pid: worker.pid }, ...this.servers];
  }

  private async stopAll(list: readonly Child[]): Promise<void> {
    await Promise.all(list.map((c) => stop(c)));
  }

  /** Full speed: throughput, CPU per process, Temporal history per event, batch size. */
  async fullSpeed(): Promise<Record<string, unknown>> {
    const p = this.phase('full', 0);
    const roles = await this.pipeline(p);
    try {
      const watched = this.watched(roles);
      const since = new Date();
      const before = cpuSnapshot(watched);
      const prefix = `${p.topic}-run`;
      const { result: load } = await this.load(p, { run: prefix, events: this.s.events, perRequest: 10, concurrency: this.s.concurrency }, roles);
      const doneAt = await this.rowsLanded('beltline.profiles', prefix, this.s.events, roles);
      const after = cpuSnapshot(watched);
      const seconds = (doneAt - load.firstSendAt) / 1000;
      const h = await this.history(p, since);
      await this.deleteRows(prefix);
      const cpu = { ...cpuUsPerEvent(before, after, this.s.events), loadGenerator: round(load.cpuUs / this.s.events) };
      return {
        eventsPerSec: round(this.s.events / seconds),
        seconds: round(seconds, 1),
        collectorAckedEventsPerSec: load.ackedEventsPerSec,
        requestP50Ms: load.ackP50Ms,
        requestP99Ms: load.ackP99Ms,
        workflows: h.workflows,
        avgBatchEvents: round(this.s.events / Math.max(1, h.workflows), 1),
        historyBytesPerEvent: round(h.historyBytes / this.s.events, 1),
        cpuUsPerEvent: cpu,
      };
    } finally {
      await this.stopAll(roles);
    }
  }

  /** The same requests and collector; a plain kafkajs consumer upserting one row per event. */
  async baseline(name: string, portOffset: number): Promise<{ eventsPerSec: number; seconds: number; cpuUsPerEvent: Record<string, number> }> {
    const p = this.phase(name, portOffset);
    await this.portFree(p);
    await this.createTopic(p);
    const table = `bench_baseline_${this.run}`;
    const collector = this.spawnRole(p, 'collector');
    const consumer = spawnLogged(
      'baseline consumer',
      [BASELINE],
      { ...this.env(p), BENCH_TOPIC: p.topic, BENCH_GROUP: p.group, BENCH_TABLE: table, KAFKA_BROKERS: this.cfg.kafkaBrokers.join(',') },
      path.join(this.logDir, `bench-${p.name}-consumer.log`),
      REPO_ROOT,
    );
    const procs = [collector, consumer];
    try {
      await this.collectorUp(p, procs);
      const warm = `${p.topic}-warm`;
      await this.load(p, { run: warm, events: this.s.warmupEvents, perRequest: 10, concurrency: this.s.concurrency }, procs);
      await this.rowsLanded(table, warm, this.s.warmupEvents, procs);
      const watched: Watched[] = [{ label: 'collector', pid: collector.pid }, { label: 'consumer', pid: consumer.pid }, ...this.servers];
      const before = cpuSnapshot(watched);
      const prefix = `${p.topic}-run`;
      const { result: load } = await this.load(p, { run: prefix, events: this.s.events, perRequest: 10, concurrency: this.s.concurrency }, procs);
      const doneAt = await this.rowsLanded(table, prefix, this.s.events, procs);
      const after = cpuSnapshot(watched);
      const seconds = (doneAt - load.firstSendAt) / 1000;
      return {
        eventsPerSec: round(this.s.events / seconds),
        seconds: round(seconds, 1),
        cpuUsPerEvent: { ...cpuUsPerEvent(before, after, this.s.events), loadGenerator: round(load.cpuUs / this.s.events) },
      };
    } finally {
      await this.stopAll(procs);
    }
  }

  /** A fixed offered rate: latency from each event's send to its profile row. */
  async offered(rate: number, seconds: number, offset: number): Promise<Record<string, unknown>> {
    const p = this.phase(`rate${rate}`, offset);
    const roles = await this.pipeline(p);
    try {
      const events = Math.max(10, Math.round((rate * seconds) / 10) * 10);
      const prefix = `${p.topic}-run`;
      const watched = this.watched(roles);
      const since = new Date();
      const before = cpuSnapshot(watched);
      const { result: load } = await this.load(p, { run: prefix, events, perRequest: 10, rate }, roles);
      await this.rowsLanded('beltline.profiles', prefix, events, roles);
      const after = cpuSnapshot(watched);
      const lat = await this.latency(prefix, events);
      const stagesMs = await this.stages(prefix);
      const { workflows } = await this.settled(p, since);
      await this.deleteRows(prefix);
      // Below full speed a batch's fixed cost (its workflow, its round trips) is shared by fewer
      // events: what each process spends per event here, against the full-speed run's.
      const cpu = { ...cpuUsPerEvent(before, after, events), loadGenerator: round(load.cpuUs / events) };
      return {
        offeredEventsPerSec: rate,
        sentEventsPerSec: load.sentEventsPerSec,
        events,
        maxSendBehindMs: load.maxBehindMs ?? 0,
        ...lat,
        stagesMs,
        workflows,
        avgBatchEvents: round(events / Math.max(1, workflows), 1),
        cpuUsPerEvent: cpu,
      };
    } finally {
      await this.stopAll(roles);
    }
  }

  /** One workflow per event: 1 event per request, batches of one Kafka record. */
  async perEvent(): Promise<Record<string, number>> {
    const p = this.phase('per-event', 4);
    const events = this.s.perEventEvents;
    const roles = await this.pipeline(p, { BATCH_MAX_EVENTS: '1' }, { events: Math.min(50, events), perRequest: 1 });
    try {
      const since = new Date();
      const prefix = `${p.topic}-run`;
      const { result: load } = await this.load(p, { run: prefix, events, perRequest: 1, concurrency: this.s.concurrency }, roles);
      const doneAt = await this.rowsLanded('beltline.profiles', prefix, events, roles);
      const seconds = (doneAt - load.firstSendAt) / 1000;
      const h = await this.history(p, since);
      await this.deleteRows(prefix);
      return {
        eventsPerSec: round(events / seconds, 1),
        events,
        seconds: round(seconds, 1),
        workflows: h.workflows,
        historyBytesPerEvent: round(h.historyBytes / events, 1),
      };
    } finally {
      await this.stopAll(roles);
    }
  }
  /** Waits until a worker process polls the phase's workflow task queue (Temporal lists its pollers). */
  private async polling(p: Phase, worker: Child, roles: readonly Child[]): Promise<void> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      assertRunning(roles);
      const pollers = await workflowPollers((this.temporal as Client).workflowService, this.cfg.TEMPORAL_NAMESPACE, p.taskQueue);
      if (pollers.some((id) => id.startsWith(`${worker.pid}@`))) return;
      if (Date.now() > deadline) throw new Error(`${p.name}: ${worker.name} did not poll ${p.taskQueue} within 90 s`);
      await sleep(250);
    }
  }

  /** One full-speed run through the phase's running processes: events/s and CPU per process. */
  private async measured(p: Phase, run: string, roles: readonly Child[]): Promise<ScalingRun> {
    const watched: Watched[] = [...roles.map((r) => ({ label: r.name, pid: r.pid })), ...this.servers];
    const before = cpuSnapshot(watched);
    const prefix = `${p.topic}-${run}`;
    const { result: load } = await this.load(p, { run: prefix, events: this.s.events, perRequest: 10, concurrency: this.s.concurrency }, roles);
    const doneAt = await this.rowsLanded('beltline.profiles', prefix, this.s.events, roles);
    const after = cpuSnapshot(watched);
    await this.deleteRows(prefix);
    const seconds = (doneAt - load.firstSendAt) / 1000;
    const eventsPerSec = this.s.events / seconds;
    const cpu = { ...cpuUsPerEvent(before, after, this.s.events), loadGenerator: round(load.cpuUs / this.s.events) };
    const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
    return {
      run,
      workers: roles.filter((r) => r.name.startsWith('worker')).length,
      eventsPerSec: round(eventsPerSec),
      seconds: round(seconds, 1),
      cpuUsPerEvent: cpu,
      // Cores kept busy on average, all watched processes together; the machine has os.cpus().
      coresBusy: round((cpuTotal * eventsPerSec) / 1e6, 2),
      workerCoresBusy: round((Object.entries(cpu).filter(([k]) => k.startsWith('worker')).reduce((a, [, v]) => a + v, 0) * eventsPerSec) / 1e6, 2),
    };
  }

  /**
   * Worker scale-out: one collector and one bridge process throughout, on one topic, group and
   * task queue; the same full-speed load with one worker process, then with a second one polling
   * the same task queue, then with the second stopped again. The two one-worker runs' mean is the
   * baseline, so a drift in background load during the part falls on both sides alike.
   */
  async workerScaling(): Promise<{ one: ScalingRun[]; two: ScalingRun; batchMaxInFlight: number }> {
    const p = this.phase('scale-out', 6);
    await this.portFree(p);
    await this.createTopic(p);
    const collector = this.spawnRole(p, 'collector');
    // Two per worker process at the run's peak of two (docs/operating.md), unless set: with the
    // default's two, the second worker would find no batch to take.
    const batchMaxInFlight = Number(process.env.BATCH_MAX_IN_FLIGHT ?? 4);
    const bridge = this.spawnRole(p, 'bridge', { BATCH_MAX_IN_FLIGHT: String(batchMaxInFlight) });
    const first = this.spawnRole(p, 'worker', {}, 'worker-1');
    let roles: Child[] = [collector, bridge, first];
    try {
      await this.collectorUp(p, roles);
      const warm = async (name: string): Promise<void> => {
        const prefix = `${p.topic}-${name}`;
        await this.load(p, { run: prefix, events: this.s.warmupEvents, perRequest: 10, concurrency: this.s.concurrency }, roles);
        await this.rowsLanded('beltline.profiles', prefix, this.s.warmupEvents, roles);
        await this.deleteRows(prefix);
      };
      await warm('warm-1');
      const oneBefore = await this.measured(p, 'one-a', roles);
      const second = this.spawnRole(p, 'worker', {}, 'worker-2');
      roles = [...roles, second];
      await this.polling(p, second, roles);
      await warm('warm-2');
      const two = await this.measured(p, 'two', roles);
      await stop(second);
      roles = roles.filter((r) => r !== second);
      const oneAfter = await this.measured(p, 'one-b', roles);
      return { one: [oneBefore, oneAfter], two, batchMaxInFlight };
    } finally {
      await this.stopAll(roles);
    }
  }
}

export interface ScalingRun {
  run: string;
  workers: number;
  eventsPerSec: number;
  seconds: number;
  cpuUsPerEvent: Record<string, number>;
  coresBusy: number;
  workerCoresBusy: number;
}

export async function benchEndToEnd(): Promise<Record<string, unknown>> {
  const roleLogLevel = process.env.BENCH_ROLE_LOG_LEVEL ?? 'info';
  const cfg = loadConfig();
  const s = settings();
  const bench = new EndToEnd(cfg, s, roleLogLevel);
  let phase = 'setting up';
  try {
    await bench.setUp();
    // The baseline runs before and after the full-speed run and counts with their mean, so a
    // drift in background load during the run falls on both sides alike.
    phase = 'baseline (before)';
    const before = await bench.baseline('baseline-a', 1);
    phase = 'full speed';
    const full = await bench.fullSpeed();
    phase = 'baseline (after)';
    const after = await bench.baseline('baseline-b', 5);
    const baseline = {
      eventsPerSec: round((before.eventsPerSec + after.eventsPerSec) / 2),
      runs: [before, after],
    };
    phase = 'offered 1,000 events/s';
    const at1k = await bench.offered(1000, s.rateSeconds, 2);
    phase = 'offered 5,000 events/s';
    const at5k = await bench.offered(5000, s.rate5kSeconds, 3);
    phase = 'one workflow per event';
    const perEvent = await bench.perEvent();
    const eventsPerSec = full.eventsPerSec as number;
    return {
      bench: 'end-to-end',
      events: s.events,
      eventsPerSec,
      p50Ms: at1k.p50Ms,
      p99Ms: at1k.p99Ms,
      p99MsAt5k: at5k.p99Ms,
      baselineHttpEventsPerSec: baseline.eventsPerSec,
      ratioToHttpBaseline: round(eventsPerSec / baseline.eventsPerSec, 3),
      historyBytesPerEvent: full.historyBytesPerEvent,
      perEventWorkflowEventsPerSec: perEvent.eventsPerSec,
      ratioToPerEventWorkflows: round(eventsPerSec / perEvent.eventsPerSec, 2),
      avgBatchEvents: full.avgBatchEvents,
      cpuUsPerEvent: full.cpuUsPerEvent,
      full,
      baseline,
      offered: { at1k, at5k },
      perEventWorkflows: perEvent,
      layout: {
        processes: 'collector, bridge, worker: one `beltline start --role` process each; load generator and baseline consumer in processes of their own',
        partitions: cfg.BELTLINE_RAW_PARTITIONS,
        eventsPerRequest: 10,
        concurrency: s.concurrency,
        warmupEvents: s.warmupEvents,
      },
    };
  } catch (err) {
    throw new Error(`end-to-end bench failed (${phase}): ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await bench.tearDown();
  }
}
