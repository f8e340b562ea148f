import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config';
import { logger } from '../log';
import { isAlive, portAnswers, readPid, tail, terminate, waitUntil } from './procs';
import {
  ensureDatabase,
  ensureTopics,
  kafkaEndpoint,
  kafkaReady,
  maintenanceUrl,
  paths,
  postgresLogFile,
  postgresPidFile,
  postgresReady,
  startKafka,
  startPostgres,
  startTemporal,
  stopPostgres,
  temporalEndpoint,
  temporalReady,
  type Paths,
} from './services';

const log = logger('stack');

export type ServiceName = 'temporal' | 'kafka' | 'postgres';
export const SERVICES: readonly ServiceName[] = ['temporal', 'kafka', 'postgres'];

export interface ServiceStatus {
  name: ServiceName;
  endpoint: string;
  /** `external`: it answers, but this stack did not start it (or DATABASE_URL names it). */
  state: 'running' | 'stopped' | 'external';
  pid?: number;
  uiUrl?: string;
}

export interface StackOptions {
  only?: ServiceName[];
}

function maskPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

interface ServiceDef {
  endpoint(cfg: Config): string;
  answers(cfg: Config): Promise<boolean>;
  ready(cfg: Config): Promise<boolean>;
  pidFile(p: Paths): string;
  /** Where the service logs, when not `<home>/logs/<name>.log`. */
  logFile?(p: Paths): string;
  /** Starts the service; returns the pid to record, or undefined when the service writes its own pid file. */
  start(cfg: Config, p: Paths, logFile: string): number | undefined;
  stop?(p: Paths): void;
  afterReady?(cfg: Config): Promise<void>;
  readyTimeoutMs: number;
  uiUrl?(cfg: Config): string;
}

const DEFS: Record<ServiceName, ServiceDef> = {
  temporal: {
    endpoint: (cfg) => cfg.TEMPORAL_ADDRESS,
    answers: (cfg) => portAnswers(temporalEndpoint(cfg).host, temporalEndpoint(cfg).port),
    ready: temporalReady,
    pidFile: (p) => path.join(p.run, 'temporal.pid'),
    start: startTemporal,
    readyTimeoutMs: 90_000,
    uiUrl: (cfg) => `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}`,
  },
  kafka: {
    endpoint: (cfg) => cfg.kafkaBrokers.join(','),
    answers: (cfg) => portAnswers(kafkaEndpoint(cfg).host, kafkaEndpoint(cfg).port),
    ready: kafkaReady,
    pidFile: (p) => path.join(p.run, 'kafka.pid'),
    start: startKafka,
    afterReady: ensureTopics,
    readyTimeoutMs: 120_000,
  },
  postgres: {
    endpoint: (cfg) => maskPassword(cfg.databaseUrl),
    answers: (cfg) => portAnswers('127.0.0.1', cfg.PGPORT_EMBEDDED),
    ready: (cfg) => postgresReady(maintenanceUrl(cfg.databaseUrl)),
    pidFile: postgresPidFile,
    logFile: postgresLogFile,
    start: (cfg, p) => {
      startPostgres(cfg, p);
      return undefined;
    },
    stop: stopPostgres,
    afterReady: (cfg) => ensureDatabase(cfg.databaseUrl),
    readyTimeoutMs: 60_000,
  },
};

function selected(opts: StackOptions | undefined): readonly ServiceName[] {
  return opts?.only && opts.only.length > 0 ? opts.only : SERVICES;
}

async function statusOf(cfg: Config, name: ServiceName): Promise<ServiceStatus> {
  const def = DEFS[name];
  const p = paths(cfg);
  const base = { name, endpoint: def.endpoint(cfg), uiUrl: def.uiUrl?.(cfg) };
  if (name === 'postgres' && !cfg.embeddedPostgres) {
    const up = await postgresReady(cfg.databaseUrl).catch(() => false);
    return { ...base, state: up ? 'external' : 'stopped' };
  }
  const pid = readPid(def.pidFile(p));
  const answers = await def.answers(cfg);
  if (pid !== undefined && isAlive(pid) && answers) return { ...base, state: 'running', pid };
  return { ...base, state: answers ? 'external' : 'stopped' };
}

export async function stackStatus(cfg: Config): Promise<ServiceStatus[]> {
  return Promise.all(SERVICES.map((s) => statusOf(cfg, s)));
}

async function upOne(cfg: Config, name: ServiceName): Promise<ServiceStatus> {
  const def = DEFS[name];
  const p = paths(cfg);
  const current = await statusOf(cfg, name);
  if (current.state !== 'stopped') {
    log.info({ service: name, state: current.state, endpoint: current.endpoint }, 'reusing');
    await def.afterReady?.(cfg);
    return current;
  }
  if (name === 'postgres' && !cfg.embeddedPostgres) {
    throw new Error(`DATABASE_URL (${maskPassword(cfg.databaseUrl)}) does not answer; beltline does not start external servers`);
  }
  for (const d of [p.run, p.logs, p.data]) fs.mkdirSync(d, { recursive: true });
  const pidFile = def.pidFile(p);
  const stale = readPid(pidFile);
  if (stale !== undefined && !isAlive(stale) && name !== 'postgres') fs.rmSync(pidFile, { force: true });
  const logFile = def.logFile?.(p) ?? path.join(p.logs, `${name}.log`);
  log.info({ service: name }, 'starting');
  const pid = def.start(cfg, p, logFile);
  if (pid !== undefined) fs.writeFileSync(pidFile, `${pid}\n`);
  await waitUntil(name, async () => {
    if (pid !== undefined && !isAlive(pid)) throw new Error(`${name} exited`);
    return def.ready(cfg);
  }, def.readyTimeoutMs, logFile).catch((err: Error) => {
    if (pid !== undefined && !isAlive(pid)) throw new Error(`${name} exited during start; last lines of ${logFile}:\n${tail(logFile)}`);
    throw err;
  });
  await def.afterReady?.(cfg);
  const status = await statusOf(cfg, name);
  log.info({ service: name, endpoint: status.endpoint, pid: status.pid }, 'running');
  return status;
}

/** Starts what is not running yet (concurrently) and waits until each answers. Idempotent. */
export async function stackUp(cfg: Config, opts?: StackOptions): Promise<ServiceStatus[]> {
  const names = selected(opts);
  const results = await Promise.allSettled(names.map((n) => upOne(cfg, n)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new Error(`the local stack did not come up:\n${failed.join('\n')}`);
  return results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value);
}

/** Stops only the processes this stack started (named in its pid files). */
export async function stackDown(cfg: Config, opts?: StackOptions): Promise<void> {
  const p = paths(cfg);
  await Promise.all(
    selected(opts).map(async (name) => {
      if (name === 'postgres' && !cfg.embeddedPostgres) return;
      const def = DEFS[name];
      const pid = readPid(def.pidFile(p));
      if (pid === undefined || !isAlive(pid)) {
        if (name !== 'postgres') fs.rmSync(def.pidFile(p), { force: true });
        return;
      }
      log.info({ service: name, pid }, 'stopping');
      if (def.stop) {
        try {
          def.stop(p);
        } catch (err) {
          log.warn({ err: (err as Error).message }, `${name} did not stop cleanly; terminating`);
        }
      }
      if (isAlive(pid)) await terminate(pid);
      if (name !== 'postgres') fs.rmSync(def.pidFile(p), { force: true });
    }),
  );
}

function parseOnly(value: string, previous: ServiceName[] = []): ServiceName[] {
  if (!(SERVICES as readonly string[]).includes(value)) throw new Error(`--only takes one of ${SERVICES.join(', ')}, got ${value}`);
  return [...previous, value as ServiceName];
}

export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local stack: Temporal dev server, Kafka, PostgreSQL');
  stack
    .command('up')
    .description('start what is not running (idempotent) and wait until it answers')
    .option('--only <service>', 'temporal, kafka or postgres (repeatable)', parseOnly)
    .action(async (opts: { only?: ServiceName[] }) => {
      const status = await stackUp(loadConfig(), { only: opts.only });
      for (const s of status) console.log(`${s.name.padEnd(9)} ${s.state.padEnd(9)} ${s.endpoint}${s.uiUrl ? `  (UI ${s.uiUrl})` : ''}`);
    });
  stack
    .command('down')
    .description('stop the services this stack started')
    .option('--only <service>', 'temporal, kafka or postgres (repeatable)', parseOnly)
    .action(async (opts: { only?: ServiceName[] }) => {
      await stackDown(loadConfig(), { only: opts.only });
    });
  stack
    .command('status')
    .description('each service\'s endpoint and state')
    .option('--json', 'print JSON only')
    .action(async (opts: { json?: boolean }) => {
      const status = await stackStatus(loadConfig());
      if (opts.json) console.log(JSON.stringify(status));
      else for (const s of status) console.log(`${s.name.padEnd(9)} ${s.state.padEnd(9)} ${s.endpoint}${s.pid ? ` pid ${s.pid}` : ''}`);
    });
}
