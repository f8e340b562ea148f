import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kafka, logLevel } from '../src/kafka/kafkajs';
import type { Pool } from 'pg';
import { loadConfig, REPO_ROOT, type Config } from '../src/config';
import { createPool } from '../src/db/pool';
import { stackStatus, stackUp, type ServiceName } from '../src/stack';
import { caughtUpAt, allApplied, tally, type AppliedEvent } from './chaos-tally';
import { spawnLogged, stop, stopAll, type Child } from './procs';

/**
 * The fault campaign. beltline runs as a user deploys it on a small host — one process per role,
 * `beltline start --role collector|bridge|worker` — in a database, topic, consumer group and task
 * queue of its own, under steady load of real tracker requests (Snowplow tp2 and plain JSON, in
 * turn). Each scenario kills one thing with SIGKILL while the load runs, and brings it back as a
 * supervisor or an operator would: a beltline role after CHAOS_PROCESS_DOWN_SECONDS, PostgreSQL,
 * Kafka or the Temporal dev server (`beltline stack up`) after CHAOS_SERVER_DOWN_SECONDS.
 *
 * Counting is exact: every event has a profile of its own, which two counting belts increment
 * (`count` inside the batch's step, `queued` on its own task queue, applied by applyBatch), so a
 * counter of 0 is a lost event and one above 1 a doubled one. A beltline process that exits on
 * its own is counted and restarted, as a supervisor would.
 */

const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
const CHAOS_BELTS = path.join(REPO_ROOT, 'bench', 'belts', 'chaos');
const JSON_TYPE = 'chaos-json';
/** The counting belts' profile paths (bench/belts/chaos). */
const COUNTERS = ['count', 'queued'] as const;

const ROLES = ['collector', 'bridge', 'worker'] as const;
type RoleName = (typeof ROLES)[number];
const SERVERS = ['postgres', 'kafka', 'temporal'] as const satisfies readonly ServiceName[];
type ServerName = (typeof SERVERS)[number];
type ScenarioName = RoleName | ServerName;
const SCENARIOS: readonly ScenarioName[] = [...ROLES, ...SERVERS];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const round1 = (x: number): number => Math.round(x * 10) / 10;

export interface Settings {
  scenarios: ScenarioName[];
  rate: number;
  perRequest: number;
  seconds: number;
  faultAfterSeconds: number;
  processDownSeconds: number;
  serverDownSeconds: number;
  recoverTimeoutSeconds: number;
  settleSeconds: number;
  port: number;
}

function num(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: a positive number, not ${JSON.stringify(v)}`);
  return n;
}

export function settings(): Settings {
  const wanted = (process.env.CHAOS_SCENARIOS ?? SCENARIOS.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`CHAOS_SCENARIOS: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  return {
    scenarios: wanted as ScenarioName[],
    rate: num('CHAOS_RATE', 200),
    perRequest: Math.round(num('CHAOS_EVENTS_PER_REQUEST', 10)),
    seconds: num('CHAOS_SCENARIO_SECONDS', 30),
    faultAfterSeconds: num('CHAOS_FAULT_AFTER_SECONDS', 5),
    processDownSeconds: num('CHAOS_PROCESS_DOWN_SECONDS', 3),
    serverDownSeconds: num('CHAOS_SERVER_DOWN_SECONDS', 10),
    recoverTimeoutSeconds: num('CHAOS_RECOVER_TIMEOUT_SECONDS', 120),
    settleSeconds: num('CHAOS_SETTLE_SECONDS', 5),
    port: num('CHAOS_PORT', 18190),
  };
}

/** The campaign's own log: $BELTLINE_HOME/logs/chaos.log. */
let logFile: string | undefined;
function note(message: string, fields: Record<string, unknown> = {}): void {
  if (logFile) fs.appendFileSync(logFile, `${JSON.stringify({ time: new Date().toISOString(), msg: message, ...fields })}\n`);
}

/** What the collector answered, per scenario. */
interface Answers {
  http2xx: number;
  http4xx: number;
  /** Every 5xx, 503 included. */
  http5xx: number;
  http503: number;
  /** No answer: connection refused or reset, or no answer within the request timeout. */
  noAnswer: number;
}

/**
 * The load: an open loop at `rate` events/s (a request is sent when due, answered or not), tp2
 * and JSON requests in turn, every event with an id of its own that is also its profile's id.
 */
class Load {
  readonly accepted = new Map<string, number>();
  readonly unacknowledged = new Set<string>();
  readonly answers: Answers = { http2xx: 0, http4xx: 0, http5xx: 0, http503: 0, noAnswer: 0 };
  /** The first and last request that was not accepted (epoch ms). */
  firstRefusedAt: number | undefined;
  lastRefusedAt: number | undefined;
  readonly startedAt = Date.now();
  private running = true;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly loop: Promise<void>;
  private errorsNoted = 0;

  constructor(
    private readonly base: string,
    private readonly prefix: string,
    private readonly rate: number,
    private readonly perRequest: number,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const intervalMs = (1000 * this.perRequest) / this.rate;
    for (let r = 0; this.running; ) {
      while (this.running && this.startedAt + r * intervalMs <= Date.now()) {
        const p = this.send(r++).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
      await sleep(Math.min(intervalMs, this.startedAt + r * intervalMs - Date.now()));
    }
  }

  private async send(r: number): Promise<void> {
    const ids = Array.from({ length: this.perRequest }, (_, i) => `${this.prefix}-${r * this.perRequest + i}`);
    const now = String(Date.now());
    const [route, body] =
      r % 2 === 0
        ? [
            TP2,
            {
              schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
              data: ids.map((id) => ({ e: 'se', eid: crypto.randomUUID(), uid: id, se_ca: 'chaos', se_ac: 'tick', p: 'srv', tv: 'chaos', dtm: now, stm: now })),
            },
          ]
        : [`/api/v1/events/${JSON_TYPE}`, ids.map((id) => ({ eventId: id, correlationId: id }))];
    let status = 0;
    try {
      const res = await fetch(`${this.base}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      status = res.status;
      const text = await res.text();
      if (status < 200 || status >= 300) this.remember(`${status} ${route}: ${text.slice(0, 200)}`);
    } catch (err) {
      this.remember(`${route}: ${(err as Error).message}`);
    }
    const at = Date.now();
    if (status >= 200 && status < 300) {
      this.answers.http2xx++;
      for (const id of ids) this.accepted.set(id, at);
      return;
    }
    if (status === 0) this.answers.noAnswer++;
    else if (status >= 500) {
      this.answers.http5xx++;
      if (status === 503) this.answers.http503++;
    } else this.answers.http4xx++;
    for (const id of ids) this.unacknowledged.add(id);
    this.firstRefusedAt ??= at;
    this.lastRefusedAt = at;
  }

  /** The first few refusals of a scenario go to the log: they say what the collector answered. */
  private remember(error: string): void {
    if (this.errorsNoted++ < 5) note('request not accepted', { prefix: this.prefix, error });
  }

  /** Stops sending and waits for the answers of what was sent. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.inFlight]);
  }
}

export interface ScenarioReport extends Answers {
  accepted: number;
  /** The sum of the in-step counting belt's counters over the accepted events. */
  applied: number;
  /** The same for the belt on its own task queue (runBelt + applyBatch). */
  appliedQueued: number;
  lost: number;
  doubled: number;
  /** Events whose request got no 2xx; of those, the ones applied anyway (at least once). */
  unacknowledged: number;
  unacknowledgedApplied: number;
  /** ingestBatch workflows of the campaign that failed, were terminated or timed out during the scenario. */
  failedBatches: number | null;
  /** ingestBatch workflows still running once the scenario's load was all applied (or given up on). */
  runningBatches: number | null;
  /** From the fault until every event accepted up to the end of the outage was applied; null: not within the timeout. */
  secondsToRecover: number | null;
  /** From the fault until the killed process or server was back (restart included). */
  secondsDown: number;
  /** From the first to the last request that was not accepted. */
  secondsRefusing: number;
  /** The longest time from an event's 2xx to its application. */
  maxDelaySeconds: number | null;
  /** beltline processes that exited on their own during the scenario (restarted by the campaign). */
  exited: number;
}

export interface CampaignReport {
  chaos: 'end-to-end';
  ok: boolean;
  rate: number;
  eventsPerRequest: number;
  scenarioSeconds: number;
  lost: number;
  doubled: number;
  exited: number;
  scenarios: Partial<Record<ScenarioName, ScenarioReport>>;
  layout: string;
  logs: string;
}

/** One beltline role process, restarted by the campaign when it dies. */
interface Role {
  name: RoleName;
  child?: Child;
  /** Set while the campaign kills it on purpose. */
  killing: boolean;
}

class Campaign {
  private readonly run = crypto.randomBytes(3).toString('hex');
  private readonly database = `beltline_chaos_${this.run}`;
  private readonly topic = `chaos-${this.run}`;
  private readonly group = `chaos-${this.run}-bridge`;
  private readonly taskQueue = `chaos-${this.run}`;
  private readonly adminKey = crypto.randomBytes(24).toString('hex');
  private readonly databaseUrl: string;
  private readonly logDir: string;
  private readonly base: string;
  private readonly roles = new Map<RoleName, Role>(ROLES.map((name) => [name, { name, killing: false }]));
  private pool?: Pool;
  private temporal?: Client;
  private scenario: ScenarioName | 'setup' = 'setup';
  private readonly exits = new Map<string, number>();
  private closing = false;
  private readonly restarts = new Set<Promise<void>>();

  constructor(
    private readonly cfg: Config,
    private readonly s: Settings,
  ) {
    const url = new URL(cfg.databaseUrl);
    url.pathname = `/${this.database}`;
    this.databaseUrl = url.toString();
    this.logDir = path.join(cfg.BELTLINE_HOME, 'logs');
    this.base = `http://127.0.0.1:${s.port}`;
  }

  private kafka(): Kafka {
    return new Kafka({ clientId: 'beltline-chaos', brokers: this.cfg.kafkaBrokers, logLevel: logLevel.NOTHING });
  }

  private maintenanceUrl(): string {
    const u = new URL(this.cfg.databaseUrl);
    u.pathname = '/postgres';
    return u.toString();
  }

  async setUp(): Promise<void> {
    fs.mkdirSync(this.logDir, { recursive: true });
    for (const r of ROLES) fs.writeFileSync(this.roleLog(r), '');
    // The servers a scenario kills must be the local stack's own: their pids come from its pid files.
    const status = await stackStatus(this.cfg);
    for (const name of this.s.scenarios) {
      if (!(SERVERS as readonly string[]).includes(name)) continue;
      const st = status.find((x) => x.name === name);
      if (st?.state !== 'running' || !st.pid) throw new Error(`scenario ${name}: the local stack does not run ${name} (${st?.state ?? 'unknown'}); the campaign kills only servers \`beltline stack up\` started`);
    }
    const admin = createPool(this.maintenanceUrl(), 1);
    try {
      await admin.query(`CREATE DATABASE ${this.database}`);
    } finally {
      await admin.end();
    }
    this.pool = createPool(this.databaseUrl, 2);
    this.temporal = new Client({ connection: await Connection.connect({ address: this.cfg.TEMPORAL_ADDRESS }), namespace: this.cfg.TEMPORAL_NAMESPACE });
    const kafkaAdmin = this.kafka().admin();
    await kafkaAdmin.connect();
    try {
      await kafkaAdmin.createTopics({ topics: [{ topic: this.topic, numPartitions: this.cfg.BELTLINE_RAW_PARTITIONS, replicationFactor: 1 }], waitForLeaders: true });
    } finally {
      await kafkaAdmin.disconnect();
    }
    // The collector first: the JSON event type exists before any worker caches event types.
    await this.startRole('collector');
    const res = await fetch(`${this.base}/projects/default/event-types`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: JSON_TYPE,
        displayName: 'Chaos JSON events',
        type: 'data_in',
        eventIdExpression: '$.eventId',
        timestampExpression: '#nowMillis()',
        correlationIdExpression: '$.correlationId',
        eventstoreTTL: 'P1D',
      }),
    });
    if (res.status !== 201) throw new Error(`creating the event type ${JSON_TYPE}: ${res.status} ${await res.text()}`);
    await Promise.all([this.startRole('bridge'), this.startRole('worker')]);
    // End to end once, so the consumer group is joined and everything is warm.
    const warm = new Load(this.base, `${this.run}-warmup`, this.s.rate, this.s.perRequest);
    await sleep(2000);
    await warm.stop();
    if (warm.accepted.size === 0) throw new Error(`the collector accepted no warm-up event; see ${this.logDir}/chaos*.log`);
    const deadline = Date.now() + 90_000;
    while (!allApplied(warm.accepted, await this.counts(`${this.run}-warmup`), COUNTERS.length)) {
      if (Date.now() > deadline) throw new Error(`the warm-up events were not applied within 90 s; see ${this.logDir}/chaos*.log`);
      await sleep(500);
    }
    note('set up', { database: this.database, topic: this.topic, taskQueue: this.taskQueue });
  }

  private roleLog(name: RoleName): string {
    return path.join(this.logDir, `chaos-${name}.log`);
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      BELTLINE_HOME: this.cfg.BELTLINE_HOME,
      DATABASE_URL: this.databaseUrl,
      BELTLINE_RAW_TOPIC: this.topic,
      BELTLINE_RAW_PARTITIONS: String(this.cfg.BELTLINE_RAW_PARTITIONS),
      BELTLINE_CONSUMER_GROUP: this.group,
      BELTLINE_HTTP_PORT: String(this.s.port),
      BELTLINE_BELTS_DIR: CHAOS_BELTS,
      BELTLINE_TASK_QUEUE: this.taskQueue,
      BELTLINE_LOG_LEVEL: process.env.CHAOS_ROLE_LOG_LEVEL ?? 'info',
      BELTLINE_MICRO: 'false',
      BELTLINE_ADMIN_KEY: this.adminKey,
    };
    delete env.BELTLINE_METRICS_PORT;
    return env;
  }

  /** Starts a role and waits until it logs that it runs (the role logs at info or more). */
  private async startRole(name: RoleName): Promise<void> {
    const role = this.roles.get(name) as Role;
    const log = this.roleLog(name);
    const from = fs.statSync(log).size;
    const child = spawnLogged(name, ['--no-node-snapshot', CLI, 'start', '--role', name], this.env(), log, REPO_ROOT, true);
    role.child = child;
    void child.exited.then(() => this.exitedOnItsOwn(role, child));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode() !== null) throw new Error(`${name} exited (${String(child.exitCode())}) while starting; see ${log}`);
      const fd = fs.openSync(log, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(size - from);
        fs.readSync(fd, buf, 0, buf.length, from);
        if (buf.toString('utf8').includes('"msg":"beltline running"')) break;
      } finally {
        fs.closeSync(fd);
      }
      if (Date.now() > deadline) throw new Error(`${name} did not say "beltline running" within 90 s; see ${log}`);
      await sleep(200);
    }
    note('role running', { role: name, pid: child.pid });
  }

  /** A role that died without being killed by the campaign: counted, and restarted as a supervisor would. */
  private exitedOnItsOwn(role: Role, child: Child): void {
    if (role.killing || this.closing || role.child !== child) return;
    this.exits.set(this.scenario, (this.exits.get(this.scenario) ?? 0) + 1);
    note('role exited on its own; restarting it', { role: role.name, code: child.exitCode(), scenario: this.scenario });
    const restart = (async () => {
      await sleep(this.s.processDownSeconds * 1000);
      if (!this.closing) await this.startRole(role.name).catch((err: unknown) => note('restart failed', { role: role.name, err: (err as Error).message }));
    })();
    this.restarts.add(restart);
    void restart.finally(() => this.restarts.delete(restart));
  }

  private async killRole(name: RoleName): Promise<void> {
    const role = this.roles.get(name) as Role;
    const child = role.child;
    if (!child || child.exitCode() !== null) throw new Error(`${name} is not running`);
    role.killing = true;
    try {
      child.proc.kill('SIGKILL');
      await child.exited;
    } finally {
      role.killing = false;
    }
  }

  /** The pid the local stack recorded for a server; it must be ours and alive. */
  private async serverPid(name: ServerName): Promise<number> {
    const st = (await stackStatus(this.cfg)).find((x) => x.name === name);
    if (st?.state !== 'running' || !st.pid) throw new Error(`${name} is not a running server of the local stack (${st?.state ?? 'unknown'})`);
    return st.pid;
  }

  /** `beltline stack up` for one server, until it is up (PostgreSQL may refuse while old backends linger). */
  private async restartServer(name: ServerName): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await stackUp(this.cfg, { only: [name] });
        return;
      } catch (err) {
        note('stack up failed; trying again', { server: name, err: (err as Error).message.slice(0, 500) });
        if (Date.now() > deadline) throw err;
        await sleep(2000);
      }
    }
  }

  /** Kills what the scenario names; resolves when it is back (epoch ms). */
  private async fault(name: ScenarioName): Promise<number> {
    if ((ROLES as readonly string[]).includes(name)) {
      const role = name as RoleName;
      await this.killRole(role);
      note('killed', { role });
      await sleep(this.s.processDownSeconds * 1000);
      await this.startRole(role);
      return Date.now();
    }
    const server = name as ServerName;
    const pid = await this.serverPid(server);
    process.kill(pid, 'SIGKILL');
    note('killed', { server, pid });
    await sleep(this.s.serverDownSeconds * 1000);
    await this.restartServer(server);
    note('restarted', { server, pid: await this.serverPid(server).catch(() => undefined) });
    return Date.now();
  }

  /** Each campaign event's counters and last write, by the event's (= its profile's) id. */
  private async counts(prefix: string): Promise<Map<string, AppliedEvent>> {
    const { rows } = await (this.pool as Pool).query<{ id: string; c: number; q: number; at: number }>(
      `SELECT id, coalesce((document->>'count')::int, 0) AS c, coalesce((document->>'queued')::int, 0) AS q,
              extract(epoch FROM updated_at) * 1000 AS at
         FROM profiles WHERE starts_with(id, $1)`,
      [`${prefix}-`],
    );
    return new Map(rows.map((r) => [r.id, { counts: [r.c, r.q], writtenAt: Number(r.at) }]));
  }

  /** ingestBatch workflows of the campaign's task queue in the given states, per Temporal's visibility. */
  private async batches(states: string[]): Promise<number | null> {
    const query = `WorkflowType = 'ingestBatch' AND TaskQueue = '${this.taskQueue}' AND (${states.map((s) => `ExecutionStatus = '${s}'`).join(' OR ')})`;
    try {
      return (await (this.temporal as Client).workflow.count(query)).count;
    } catch (err) {
      note('could not count batches', { query, err: (err as Error).message });
      return null;
    }
  }

  async scenarioRun(name: ScenarioName): Promise<ScenarioReport> {
    this.scenario = name;
    const prefix = `${this.run}-${name}`;
    const failedBefore = await this.batches(['Failed', 'Terminated', 'TimedOut']);
    note('scenario start', { scenario: name });
    const load = new Load(this.base, prefix, this.s.rate, this.s.perRequest);
    await sleep(this.s.faultAfterSeconds * 1000);
    const faultAt = Date.now();
    const backAt = await this.fault(name);
    // Load goes on for a while after the restart too: the pipeline must take new events again.
    await sleep(Math.max(load.startedAt + this.s.seconds * 1000, backAt + 5000) - Date.now());
    await load.stop();
    note('load stopped', { scenario: name, accepted: load.accepted.size, unacknowledged: load.unacknowledged.size });

    const deadline = Date.now() + this.s.recoverTimeoutSeconds * 1000;
    let rows = new Map<string, AppliedEvent>();
    for (;;) {
      rows = await this.counts(prefix).catch(() => rows);
      if (allApplied(load.accepted, rows, COUNTERS.length) || Date.now() > deadline) break;
      await sleep(1000);
    }
    // A late second application (a retried step of a dead worker) would show now.
    await sleep(this.s.settleSeconds * 1000);
    rows = await this.counts(prefix);
    const t = tally(load.accepted, load.unacknowledged, rows, COUNTERS.length);
    const caughtUp = caughtUpAt(load.accepted, rows, COUNTERS.length, backAt);
    const failedAfter = await this.batches(['Failed', 'Terminated', 'TimedOut']);
    const report: ScenarioReport = {
      accepted: t.accepted,
      applied: t.applied[0],
      appliedQueued: t.applied[1],
      lost: t.lost,
      doubled: t.doubled,
      unacknowledged: t.unacknowledged,
      unacknowledgedApplied: t.unacknowledgedApplied,
      ...load.answers,
      failedBatches: failedBefore === null || failedAfter === null ? null : failedAfter - failedBefore,
      runningBatches: await this.batches(['Running']),
      secondsToRecover: caughtUp === null ? null : round1(Math.max(0, caughtUp - faultAt) / 1000),
      secondsDown: round1((backAt - faultAt) / 1000),
      secondsRefusing: load.firstRefusedAt === undefined ? 0 : round1(((load.lastRefusedAt as number) - load.firstRefusedAt) / 1000),
      maxDelaySeconds: t.maxDelayMs === null ? null : round1(t.maxDelayMs / 1000),
      exited: this.exits.get(name) ?? 0,
    };
    note('scenario done', { scenario: name, ...report });
    return report;
  }

  /** Stops the roles, removes the campaign's database, topic and group, and brings the stack back up. */
  async tearDown(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.restarts]);
    await Promise.all([...this.roles.values()].map((r) => (r.child ? stop(r.child) : undefined)));
    await stopAll();
    // Whatever a scenario killed is running again before the campaign ends.
    await stackUp(this.cfg).catch((err: unknown) => process.stderr.write(`chaos: could not bring the local stack back up: ${(err as Error).message}\n`));
    const admin = this.kafka().admin();
    await admin.connect().catch(() => undefined);
    await admin.deleteGroups([this.group]).catch(() => undefined);
    await admin.deleteTopics({ topics: [this.topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    await this.temporal?.connection.close().catch(() => undefined);
    const pg = createPool(this.maintenanceUrl(), 1);
    await pg.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`).catch((err: unknown) => {
      process.stderr.write(`chaos: could not drop the database ${this.database}: ${(err as Error).message}\n`);
    });
    await pg.end().catch(() => undefined);
  }
}

let current: Campaign | undefined;

export async function runCampaign(): Promise<CampaignReport> {
  const s = settings();
  const boot = loadConfig();
  logFile = path.join(boot.BELTLINE_HOME, 'logs', 'chaos.log');
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.writeFileSync(logFile, '');
  note('campaign start', { settings: s });
  await stackUp(boot);
  // Read again: on a new data folder `stack up` has just written the embedded server's password.
  const cfg = loadConfig();
  const campaign = (current = new Campaign(cfg, s));
  const scenarios: Partial<Record<ScenarioName, ScenarioReport>> = {};
  try {
    await campaign.setUp();
    for (const name of s.scenarios) scenarios[name] = await campaign.scenarioRun(name);
  } catch (err) {
    note('campaign failed', { err: (err as Error).message });
    throw err;
  } finally {
    await campaign.tearDown();
    current = undefined;
  }
  const all = Object.values(scenarios);
  const sum = (f: (r: ScenarioReport) => number): number => all.reduce((n, r) => n + f(r), 0);
  const report: CampaignReport = {
    chaos: 'end-to-end',
    ok: all.every((r) => r.lost === 0 && r.doubled === 0 && r.exited === 0 && r.secondsToRecover !== null && r.failedBatches === 0),
    rate: s.rate,
    eventsPerRequest: s.perRequest,
    scenarioSeconds: s.seconds,
    lost: sum((r) => r.lost),
    doubled: sum((r) => r.doubled),
    exited: sum((r) => r.exited),
    scenarios,
    layout: 'collector, bridge, worker: one `beltline start --role` process each; counting belts `count` (in the step) and `queued` (scale 2, own task queue)',
    logs: path.join(cfg.BELTLINE_HOME, 'logs', 'chaos*.log'),
  };
  note('campaign done', { ...report });
  return report;
}

/** Ctrl-C: stop what the campaign started and bring back any server it killed. */
export async function abortCampaign(): Promise<void> {
  await current?.tearDown().catch(() => undefined);
}
