import type { TopicSpec } from '../projects/topics';

// The topics themselves are the runtime's list: a project's are made the same way.
export { beltlineTopics, type TopicSpec } from '../projects/topics';

/**
 * The stack's pure logic: command lines, configuration files and parsing. No I/O here, so all of
 * it is unit-tested without starting anything.
 */

export type ServiceName = 'temporal' | 'kafka' | 'postgres';
export const SERVICES: readonly ServiceName[] = ['temporal', 'kafka', 'postgres'];

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, `[::1]:port` or `:port` (host defaults to loopback). */
export function hostPort(address: string): HostPort {
  const i = address.lastIndexOf(':');
  const port = Number(address.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a host:port address: ${address}`);
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host || '127.0.0.1', port };
}

/** A URL for logs and status output: the password replaced, everything else kept. */
export function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The same server's `postgres` database, which exists before beltline's own does. */
export function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

export function databaseName(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  if (!name) throw new Error(`DATABASE_URL names no database: ${maskPassword(databaseUrl)}`);
  return name;
}


/**
 * The pid a pid file names (its first line, which is also how PostgreSQL's postmaster.pid
 * starts), or undefined when the text is empty or garbled.
 */
export function parsePidFile(text: string): number | undefined {
  const first = text.split('\n')[0].trim();
  if (!/^\d+$/.test(first)) return undefined;
  const pid = Number(first);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Whether a process's command line (/proc/<pid>/cmdline: NUL-separated) is the service's, so a
 * pid file outliving a reboot never makes us signal an unrelated process that got the same pid.
 */
export function cmdlineIsService(service: ServiceName, cmdline: string): boolean {
  const args = cmdline.split('\0').filter(Boolean);
  switch (service) {
    case 'temporal':
      return args.some((a) => /(^|\/)temporal$/.test(a)) && args.includes('start-dev');
    case 'kafka':
      return args.includes('kafka.Kafka');
    case 'postgres':
      // The postmaster is `postgres -D ...`; a forked backend renames itself `postgres: ...`.
      return args.some((a) => /(^|\/)postgres$/.test(a) || a.startsWith('postgres:'));
  }
}

// ---------------------------------------------------------------- Temporal

export interface TemporalArgs {
  address: string;
  uiPort: number;
  dbFile: string;
  namespace: string;
  searchAttributes: Readonly<Record<string, string>>;
}

export function temporalArgs(o: TemporalArgs): string[] {
  const { host, port } = hostPort(o.address);
  const args = ['server', 'start-dev', '--ip', host, '--port', String(port), '--ui-port', String(o.uiPort)];
  // Temporal's own CI runs its file-backed dev server with these: durable enough, much faster.
  args.push('--db-filename', o.dbFile, '--sqlite-pragma', 'journal_mode=WAL', '--sqlite-pragma', 'synchronous=OFF');
  args.push('--log-level', 'warn');
  // `default` always exists; another namespace has to be registered at start.
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  for (const [name, type] of Object.entries(o.searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  return args;
}

// ---------------------------------------------------------------- Kafka

export const KAFKA_VERSION = '3.9.1';
export const RELOAD4J_VERSION = '1.2.25';
/** Kafka 3.9's slf4j API is 1.7.36; the binding must match it. */
export const SLF4J_VERSION = '1.7.36';

export function kafkaPom(version: string = KAFKA_VERSION): string {
  const dep = (g: string, a: string, v: string): string =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<project xmlns="http://maven.apache.org/POM/4.0.0">',
    '  <modelVersion>4.0.0</modelVersion>',
    `  <groupId>dev.beltline</groupId><artifactId>kafka-runtime</artifactId><version>${version}</version>`,
    '  <packaging>pom</packaging>',
    '  <dependencies>',
    dep('org.apache.kafka', 'kafka_2.13', version),
    dep('ch.qos.reload4j', 'reload4j', RELOAD4J_VERSION),
    dep('org.slf4j', 'slf4j-reload4j', SLF4J_VERSION),
    '  </dependencies>',
    '</project>',
    '',
  ].join('\n');
}

export interface KafkaProps {
  broker: string;
  controllerPort: number;
  logDir: string;
}

export function kafkaProperties(o: KafkaProps): string {
  const { host, port } = hostPort(o.broker);
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${o.controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${o.logDir}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    // 50 partitions of __consumer_offsets on one small node only slow the first consumer down.
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
}

/** Everything to the process's stdout (our log file), warnings only except the start/stop lines. */
export const KAFKA_LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  'log4j.logger.kafka.server.KafkaServer=INFO',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  'log4j.logger.kafka.server.BrokerServer=INFO',
  '',
].join('\n');

export function kafkaJvmArgs(log4jFile: string, libsDir: string): string[] {
  return ['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true', `-Dlog4j.configuration=file:${log4jFile}`, '-cp', `${libsDir}/*`];
}

/**
 * A KRaft cluster id: 16 bytes, base64url without padding (what `kafka-storage random-uuid` prints).
 * Never with a leading '-': `kafka-storage format -t -x…` reads such an id as an option and fails
 * ("expected one argument"), which 1 in 64 random ids did (Kafka's own Uuid draws again). The
 * first byte's top bit is cleared, so the id starts with one of A-Z or a-f.
 */
export function kafkaClusterId(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error('a Kafka cluster id takes 16 bytes');
  const b = Buffer.from(bytes);
  b[0] &= 0x7f;
  return b.toString('base64url');
}

/**
 * What to do so the wanted topics exist: create the missing ones, add partitions to those with
 * fewer than wanted (Kafka cannot take partitions away, so more than wanted is left alone).
 */
export function topicPlan(existing: ReadonlyMap<string, number>, wanted: readonly TopicSpec[]): { create: TopicSpec[]; grow: TopicSpec[] } {
  const create = wanted.filter((t) => !existing.has(t.topic));
  const grow = wanted.filter((t) => (existing.get(t.topic) ?? Infinity) < t.numPartitions);
  return { create, grow };
}

// ---------------------------------------------------------------- PostgreSQL

export function initdbArgs(dataDir: string, pwFile: string): string[] {
  // Over TCP a password is required; the socket folder is private to the server's user.
  return ['-D', dataDir, '-U', 'postgres', '--pwfile', pwFile, '-E', 'UTF8', '--locale', 'C', '--auth-host', 'scram-sha-256', '--auth-local', 'trust'];
}

/** The server options pg_ctl passes on (`-o`): one string, split on spaces by pg_ctl's shell. */
export function postgresServerOptions(port: number, socketDir: string): string {
  if (/\s/.test(socketDir)) throw new Error(`the PostgreSQL socket folder must not contain spaces: ${socketDir}`);
  // fsync=off: a throwaway development server; losing it in a power cut costs a re-run, not data.
  return `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
}

export function pgCtlStartArgs(dataDir: string, logFile: string, options: string, timeoutS: number): string[] {
  return ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', String(timeoutS), 'start'];
}

export function pgCtlStopArgs(dataDir: string): string[] {
  return ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop'];
}

/** The command line that runs `cmd` as `user` (PostgreSQL refuses to run as root), or as is. */
export function asUser(user: string | undefined, cmd: string, args: readonly string[]): [string, string[]] {
  return user === undefined ? [cmd, [...args]] : ['runuser', ['-u', user, '--', cmd, ...args]];
}

// ---------------------------------------------------------------- CLI

export function parseServiceName(value: string): ServiceName {
  if (!(SERVICES as readonly string[]).includes(value)) throw new Error(`expected one of ${SERVICES.join(', ')}, got ${value}`);
  return value as ServiceName;
}

/** `--only temporal,kafka` or a repeated `--only`. */
export function parseOnly(value: string, previous: ServiceName[] = []): ServiceName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean).map(parseServiceName);
  return [...new Set([...previous, ...names])];
}

export function statusLine(s: { name: string; state: string; endpoint: string; pid?: number; uiUrl?: string }): string {
  const extra = [s.pid !== undefined ? `pid ${s.pid}` : '', s.uiUrl ? `UI ${s.uiUrl}` : ''].filter(Boolean).join(', ');
  return `${s.name.padEnd(9)} ${s.state.padEnd(8)} ${s.endpoint}${extra ? `  (${extra})` : ''}`;
}
