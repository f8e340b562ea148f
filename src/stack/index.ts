import fs from 'node:fs';
import path from 'node:path';
import { embeddedDatabaseUrl, readEmbeddedPassword, type Config } from '../config';
import { logger } from '../log';
import { GiveUp, isAlive, portAnswers, processCmdline, readPid, tail, terminate, waitUntil, withLock } from './procs';
import { cmdlineIsService, maintenanceUrl, maskPassword, SERVICES, type ServiceName } from './render';
import {
  ensureDatabase,
  ensureTemporalSearchAttributes,
  ensureTopics,
  kafkaEndpoint,
  kafkaReady,
  paths,
  pgLayout,
  postgresReady,
  startKafka,
  startPostgres,
  startTemporal,
  stopPostgres,
  temporalEndpoint,
  temporalReady,
  type Paths,
} from './services';

export { SERVICES, type ServiceName } from './render';
export { ensureTopics } from './services';
export { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

const log = logger('stack');

/** The embedded server's URL with the password now on record in BELTLINE_HOME; set on `cfg`. */
function refreshEmbeddedUrl(cfg: Config): string {
  if (cfg.embeddedPostgres) cfg.databaseUrl = embeddedDatabaseUrl(cfg.PGPORT_EMBEDDED, readEmbeddedPassword(cfg.BELTLINE_HOME), cfg.BELTLINE_DATABASE);
  return cfg.databaseUrl;
}

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

interface ServiceDef {
  endpoint(cfg: Config): string;
  /** The port accepts connections: cheap, says nothing about readiness. */
  answers(cfg: Config): Promise<boolean>;
  /** `started`: this `up` started the process (a reused one was made ready by the `up` that started it). */
  ready(cfg: Config, started: boolean): Promise<boolean>;
  pidFile(p: Paths): string;
  logFile(p: Paths): string;
  /** Starts the service; the pid to record, or undefined when the service writes its own pid file. */
  start(cfg: Config, p: Paths, logFile: string): Promise<number | undefined>;
  /** A graceful stop before signals. */
  stop?(p: Paths): Promise<void>;
  /** What every `up` makes sure of once the service answers (also when reused). */
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
    logFile: (p) => path.join(p.logs, 'temporal.log'),
    start: startTemporal,
    afterReady: ensureTemporalSearchAttributes,
    readyTimeoutMs: 60_000,
    uiUrl: (cfg) => `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}`,
  },
  kafka: {
    endpoint: (cfg) => cfg.kafkaBrokers.join(','),
    answers: (cfg) => portAnswers(kafkaEndpoint(cfg).host, kafkaEndpoint(cfg).port),
    // Every partition only for a broker this `up` started: one reused as external may be a real
    // cluster with thousands of topics, and one of ours was checked by the `up` that started it.
    ready: (cfg, started) => kafkaReady(cfg, { everyPartition: started }),
    pidFile: (p) => path.join(p.run, 'kafka.pid'),
    logFile: (p) => path.join(p.logs, 'kafka.log'),
    start: startKafka,
    afterReady: ensureTopics,
    readyTimeoutMs: 90_000,
  },
  postgres: {
    endpoint: (cfg) => maskPassword(cfg.databaseUrl),
    answers: (cfg) => portAnswers('127.0.0.1', cfg.PGPORT_EMBEDDED),
    // beltline's database may not exist yet; the server is ready when its maintenance db answers.
    // The password is read again: another process's `stack up` may have just initialised it.
    ready: (cfg) => postgresReady(maintenanceUrl(refreshEmbeddedUrl(cfg))),
    // PostgreSQL writes its own pid file; its first line is the postmaster's pid.
    pidFile: (p) => pgLayout(p).pidFile,
    logFile: (p) => pgLayout(p).logFile,
    start: async (cfg, p) => {
      await startPostgres(cfg, p);
      return undefined;
    },
    stop: stopPostgres,
    afterReady: (cfg) => ensureDatabase(cfg.databaseUrl),
    readyTimeoutMs: 60_000,
  },
};

function selected(opts: StackOptions | undefined): readonly ServiceName[] {
  const only = opts?.only && opts.only.length > 0 ? new Set(opts.only) : undefined;
  return only ? SERVICES.filter((s) => only.has(s)) : SERVICES;
}

/**
 * The live process our pid file names, if any. A pid file naming a dead process, or a live one
 * that is not this service (the pid was reused), is stale.
 */
function ourProcess(name: ServiceName, p: Paths): { pid?: number; stale: boolean } {
  const pid = readPid(DEFS[name].pidFile(p));
  if (pid === undefined) return { stale: fs.existsSync(DEFS[name].pidFile(p)) };
  if (!isAlive(pid)) return { stale: true };
  const cmdline = processCmdline(pid);
  if (cmdline !== undefined && !cmdlineIsService(name, cmdline)) return { stale: true };
  return { pid, stale: false };
}

async function statusOf(cfg: Config, name: ServiceName): Promise<ServiceStatus> {
  const def = DEFS[name];
  const base: ServiceStatus = { name, endpoint: def.endpoint(cfg), state: 'stopped' };
  if (def.uiUrl) base.uiUrl = def.uiUrl(cfg);
  if (name === 'postgres' && !cfg.embeddedPostgres) {
    return { ...base, state: (await postgresReady(cfg.databaseUrl)) ? 'external' : 'stopped' };
  }
  const { pid } = ourProcess(name, paths(cfg));
  // Ours and alive counts as running even while it is still coming up; `up` waits for ready.
  if (pid !== undefined) return { ...base, state: 'running', pid };
  return { ...base, state: (await def.answers(cfg)) ? 'external' : 'stopped' };
}

/** Each service's endpoint and state; starts nothing. */
export async function stackStatus(cfg: Config): Promise<ServiceStatus[]> {
  return Promise.all(SERVICES.map((s) => statusOf(cfg, s)));
}

async function upOne(cfg: Config, name: ServiceName): Promise<ServiceStatus> {
  const def = DEFS[name];
  if (name === 'postgres' && !cfg.embeddedPostgres) {
    if (await postgresReady(cfg.databaseUrl)) return statusOf(cfg, name);
    throw new Error(`DATABASE_URL (${maskPassword(cfg.databaseUrl)}) does not answer; beltline starts no server for an external database`);
  }
  const p = paths(cfg);
  for (const d of [p.run, p.logs, p.data]) fs.mkdirSync(d, { recursive: true });
  // Held while deciding and starting, so a concurrent `up` waits and then reuses what this one started.
  return withLock(path.join(p.run, `${name}.lock`), async () => {
    const pidFile = def.pidFile(p);
    const logFile = def.logFile(p);
    const ours = ourProcess(name, p);
    if (ours.stale) {
      log.info({ service: name, pidFile }, 'removing stale pid file');
      fs.rmSync(pidFile, { force: true });
    }
    let pid = ours.pid;
    const startedAt = Date.now();
    let startedHere = false;
    if (pid !== undefined) {
      log.info({ service: name, pid }, 'reusing');
    } else if (await def.answers(cfg)) {
      log.info({ service: name, endpoint: def.endpoint(cfg) }, 'port answers but is not ours: reusing it as external');
    } else {
      log.info({ service: name, logFile }, 'starting');
      startedHere = true;
      try {
        pid = await def.start(cfg, p, logFile);
      } catch (err) {
        const logged = fs.existsSync(logFile) && fs.statSync(logFile).size > 0;
        throw new Error(`${name} did not start: ${(err as Error).message}${logged ? `\nlast lines of ${logFile}:\n${tail(logFile)}` : ''}`);
      }
      if (pid !== undefined) fs.writeFileSync(pidFile, `${pid}\n`);
      else pid = readPid(pidFile);
    }
    const watched = pid;
    await waitUntil(
      `${name} (${def.endpoint(cfg)})`,
      async () => {
        if (watched !== undefined && !isAlive(watched)) throw new GiveUp(`${name} (pid ${watched}) exited`);
        return def.ready(cfg, startedHere);
      },
      def.readyTimeoutMs,
      logFile,
    );
    await def.afterReady?.(cfg);
    const status = await statusOf(cfg, name);
    log.info({ service: name, state: status.state, endpoint: status.endpoint, pid: status.pid, ms: Date.now() - startedAt }, 'ready');
    return status;
  });
}

/** Starts what is not running yet (the services side by side) and waits until each is ready. Idempotent. */
export async function stackUp(cfg: Config, opts?: StackOptions): Promise<ServiceStatus[]> {
  const names = selected(opts);
  const results = await Promise.allSettled(names.map((n) => upOne(cfg, n)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
  if (failed.length > 0) throw new Error(`the local stack did not come up:\n${failed.join('\n')}`);
  return results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value);
}

async function downOne(cfg: Config, name: ServiceName): Promise<void> {
  if (name === 'postgres' && !cfg.embeddedPostgres) return;
  const def = DEFS[name];
  const p = paths(cfg);
  if (!fs.existsSync(p.run)) return;
  await withLock(path.join(p.run, `${name}.lock`), async () => {
    const pidFile = def.pidFile(p);
    const { pid } = ourProcess(name, p);
    if (pid === undefined) {
      fs.rmSync(pidFile, { force: true });
      return;
    }
    log.info({ service: name, pid }, 'stopping');
    if (def.stop) {
      try {
        await def.stop(p);
      } catch (err) {
        log.warn({ service: name, err: (err as Error).message }, 'did not stop cleanly; terminating');
      }
    }
    if (isAlive(pid)) await terminate(pid);
    fs.rmSync(pidFile, { force: true });
    log.info({ service: name, pid }, 'stopped');
  });
}

/** Stops only the processes this stack started (named in its pid files); external services are left alone. */
export async function stackDown(cfg: Config, opts?: StackOptions): Promise<void> {
  const names = selected(opts);
  const results = await Promise.allSettled(names.map((n) => downOne(cfg, n)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${names[i]}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
  if (failed.length > 0) throw new Error(`the local stack did not stop cleanly:\n${failed.join('\n')}`);
}
