import type { Config } from './config';
import type { Pool } from 'pg';
import { createPool } from './db/pool';
import { applyRetention } from './events/store';
import { purgeDoneBatches } from './batches/staging';
import { startSweeper } from './expiry/sweeper';
import { migrate } from './db/migrate';
import { Connection, type Client } from '@temporalio/client';
import { Projects } from './projects/service';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { PythonBeltPool } from './belts/python';
import { beltRoutes } from './belts/routes';
import { sandboxedTrials } from './belts/try';
import { eventTypeRoutes } from './eventtypes/routes';
import { listEventTypes } from './eventtypes/store';
import { DefinitionsFeed } from './db/definitions-feed';
import { harvesterRoutes } from './harvesters/routes';
import { actionRoutes } from './actions/routes';
import { parseAllowedHosts } from './actions/targets';
import { sourceTopic } from './harvesters/definition';
import { listHarvesters } from './harvesters/store';
import { createApp } from './http/app';
import { microRoutes } from './micro/routes';
import { readSchemaDir, SCHEMAS_DIR } from './schemas/dir';
import { SchemaRegistry } from './schemas/registry';
import { schemaRoutes } from './schemas/routes';
import { segmentRoutes } from './segments/routes';
import { generateAdminKey } from './http/auth';
import { startBridge } from './bridge/bridge';
import { registerCollectorRoutes } from './collector/routes';
import { CollectorProjects } from './collector/projects';
import { kafkajsReport } from './kafka/kafkajs';
import { createKafka, ResilientProducer } from './kafka/producer';
import { logger } from './log';
import { metricsRoutes, startMetricsServer } from './metrics';
import { replayRoutes } from './replay/routes';
import { statsRoutes } from './stats/routes';
import { recoveryRoutes } from './recovery/routes';
import { profileRoutes } from './profiles/routes';
import { registerAdminApi } from './http/api';
import { connectClient } from './temporal/client';
import { purgePublishedChanges } from './profiles/outbox';
import { projectRoutes } from './projects/routes';
import { sqlRoutes } from './sql/routes';
import { registerConsole } from './console/serve';
import { ROLES, type Role } from './roles';
import { Readiness } from './readiness/readiness';
import { kafkaCheck, postgresCheck, temporalCheck } from './readiness/checks';
import { readyRoute } from './readiness/routes';

export { ROLES, type Role };

const log = logger('beltline');

/**
 * The search attributes workflows are started with must be known to the namespace: a server
 * from before one was added gets it here. Not fatal: a cluster's operator may have kept that
 * right to themselves (docs/operating.md lists them); starts then fail with a clear error.
 */
async function registerSearchAttributes(cfg: Config): Promise<void> {
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    await ensureSearchAttributes(connection, cfg.TEMPORAL_NAMESPACE);
  } catch (err) {
    log.warn({ err }, 'could not register the search attributes beltline sets; register them on the namespace');
  } finally {
    await connection.close();
  }
}

/** One project's retention: events past their type's eventstoreTTL, done staged batches, published changes. */
async function retainProject(cfg: Config, project: string, pool: Pool): Promise<void> {
  const n = await applyRetention(pool, await listEventTypes(pool, project));
  if (n > 0) log.info({ project, deleted: n }, 'event store retention');
  const purged = await purgeDoneBatches(pool, cfg.BELTLINE_STAGED_RETENTION);
  if (purged > 0) log.info({ project, purged }, 'staged batches purged');
  const changes = await purgePublishedChanges(pool, cfg.BELTLINE_OUTBOX_RETENTION);
  if (changes > 0) log.info({ project, purged: changes }, 'published change-stream rows purged');
}

/** Retention of every project, every BELTLINE_RETENTION_INTERVAL_MS; one project failing holds up none other. */
function startRetention(cfg: Config, projects: Projects): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    projects
      .list()
      .then(async (all) => {
        for (const { name } of all) {
          await retainProject(cfg, name, projects.db(name)).catch((err: unknown) => log.warn({ err, project: name }, 'event store retention failed'));
        }
      })
      .catch((err: unknown) => log.warn({ err }, 'event store retention failed'))
      .finally(() => {
        running = false;
      });
  }, cfg.BELTLINE_RETENTION_INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}


/**
 * What `/ready` checks for these roles. The bridge and the worker need all three; the collector
 * needs Kafka alone to take events (projects, write keys and event types are served from memory
 * while PostgreSQL is away, by design), so PostgreSQL and Temporal (the admin API's) are reported
 * for it but do not take it out of a load balancer.
 */
function readinessFor(cfg: Config, roles: readonly Role[], pool: Pool): Readiness {
  const readiness = new Readiness(cfg.BELTLINE_READY_TIMEOUT);
  const pipeline = roles.includes('bridge') || roles.includes('worker');
  readiness.add(kafkaCheck(cfg, true, cfg.BELTLINE_READY_TIMEOUT));
  readiness.add(temporalCheck(cfg, pipeline, cfg.BELTLINE_READY_TIMEOUT));
  readiness.add(postgresCheck(pool, pipeline));
  return readiness;
}

export interface Running {
  /** The collector's base URL when this process serves HTTP. */
  url?: string;
  /** The key admin routes take (Authorization: Bearer …). */
  adminKey?: string;
  stop(): Promise<void>;
}

/** The roles, started once; what stops them, in order of start. Pool and readiness are the caller's. */
async function startRoles(cfg: Config, roles: readonly Role[], opts: { belt?: string; project?: string }, pool: Pool, readiness: Readiness): Promise<{ url?: string; stops: (() => Promise<void>)[] }> {
  await migrate(pool);
  const projects = new Projects(pool, cfg.databaseUrl);
  const stops: (() => Promise<void>)[] = [() => projects.end()];
  const schemaRegistry = projects.perProject((_project, db) => new SchemaRegistry(db));
  let url: string | undefined;
  // One LISTEN connection per process keeps the definitions its roles cache current.
  const definitions = new DefinitionsFeed(cfg.databaseUrl);
  try {
    // The Iglu schemas shipped in schemas/ (standard Snowplow events), in every project: a new
    // release's reach projects made before it. Kept keys are left alone.
    const shipped = await readSchemaDir(SCHEMAS_DIR);
    for (const p of await projects.list()) await schemaRegistry(p.name).seed(shipped);
    if (roles.includes('worker') || roles.includes('collector') || roles.includes('bridge')) {
      await definitions.start();
      stops.push(() => definitions.stop());
    }
    if (roles.includes('worker') || roles.includes('bridge')) await registerSearchAttributes(cfg);
    if (roles.includes('worker')) {
      // Loaded by the processes that run a worker only: Temporal's worker runtime is a third of
      // the modules a collector or bridge would load otherwise.
      const { startWorker } = await import('./workers/worker');
      const worker = await startWorker(cfg, projects, { ...opts, definitions });
      stops.push(async () => {
        await worker.shutdown();
        log.info('worker drained: the activities under way finished');
      });
      const retention = startRetention(cfg, projects);
      stops.push(async () => retention.stop());
      let sweeperClient: Promise<Client> | undefined;
      let sweeperProducer: ResilientProducer | undefined;
      const sweeper = startSweeper(
        cfg,
        projects,
        () => (sweeperClient ??= connectClient(cfg)),
        () => (sweeperProducer ??= new ResilientProducer(createKafka(cfg, 'beltline-sweeper'))),
      );
      stops.push(async () => {
        sweeper.stop();
        await sweeperProducer?.disconnect();
        if (sweeperClient) await (await sweeperClient).connection.close();
      });
    }
    if (roles.includes('bridge')) {
      const client = await connectClient(cfg);
      const bridge = await startBridge(cfg, client, projects, {
        harvestedTopics: async (project) => (await listHarvesters(projects.db(project), project)).flatMap((h) => sourceTopic(h) ?? []),
        definitions,
      });
      stops.push(async () => {
        await bridge.stop();
        log.info('bridge stopped consuming; every batch it started is committed');
        await client.connection.close();
      });
    }
    if (roles.includes('collector')) {
      const producer = new ResilientProducer(createKafka(cfg, 'beltline-collector'), { lingerMs: cfg.BELTLINE_PRODUCE_LINGER_MS });
      const trustedProxies = cfg.BELTLINE_TRUSTED_PROXIES.split(',').map((s) => s.trim()).filter(Boolean);
      const app = await createApp({ bodyLimit: cfg.BELTLINE_MAX_BODY_BYTES, trustedProxies });
      // Projects, their write keys and event types are served from memory, so the collector keeps
      // taking events of known ones while PostgreSQL is down; loaded before the first request for that reason.
      const collectorProjects = new CollectorProjects(pool, (p) => projects.db(p), definitions);
      stops.push(async () => collectorProjects.stop());
      await collectorProjects.preload();
      readyRoute(app, readiness);
      registerCollectorRoutes(app, cfg, producer, collectorProjects);
      registerConsole(app);
      let temporal: Promise<Client> | undefined;
      stops.push(async () => {
        if (temporal) await (await temporal).connection.close();
      });
      // Python belts are compiled at definition time too, in the same sandboxed pool type.
      let checker: PythonBeltPool | undefined;
      stops.push(async () => checker?.close());
      await registerAdminApi(
        app,
        {
          pool,
          projects,
          cfg,
          adminKey: cfg.BELTLINE_ADMIN_KEY as string,
          schemas: schemaRegistry,
          temporal: () => (temporal ??= connectClient(cfg)),
          pythonCheck: (source, filename) => (checker ??= new PythonBeltPool({ processes: 1 })).check(source, filename),
          // Tries share the checker's pool: the worker's kind of pool and limits, and no second one idling.
          beltTrials: sandboxedTrials(() => (checker ??= new PythonBeltPool({ processes: 1 }))),
          actionHosts: parseAllowedHosts(cfg.BELTLINE_ACTION_ALLOWED_HOSTS),
        },
        [projectRoutes, profileRoutes, eventTypeRoutes, harvesterRoutes, actionRoutes, beltRoutes, schemaRoutes, replayRoutes, recoveryRoutes, metricsRoutes, statsRoutes, segmentRoutes, sqlRoutes, ...(cfg.BELTLINE_MICRO ? [microRoutes] : [])],
      );
      await app.listen({ host: cfg.BELTLINE_HTTP_HOST, port: cfg.BELTLINE_HTTP_PORT });
      url = `http://${cfg.BELTLINE_HTTP_HOST}:${cfg.BELTLINE_HTTP_PORT}`;
      stops.push(async () => {
        // Stops listening and answers the requests under way (each 200 only once Kafka has its
        // record); a request arriving on a kept-alive connection meanwhile gets a 503 and the
        // connection closed. Then the producer, with nothing left to send.
        await app.close();
        log.info('collector stopped accepting; requests under way answered');
        await producer.disconnect();
      });
    }
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
  return { url, stops };
}

/** Between checks of a dependency that was down at start: 1 s, doubling up to 30 s. Pure. */
export function startRetryDelayMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.min(attempt, 5));
}

/**
 * Runs the given roles in this process; `stop` shuts them down in reverse order. A dependency
 * down at start (PostgreSQL, Temporal or Kafka not answering) does not end the process: it says
 * so on `GET /ready` of its metrics listener, checks again with a backoff and starts again once
 * the dependencies answer, until started or `signal` aborts (then it throws StartAborted). Any other failure to start ends it.
 */
export async function startBeltline(cfg: Config, roles: readonly Role[], opts: { belt?: string; project?: string; signal?: AbortSignal } = {}): Promise<Running> {
  if (roles.includes('collector') && !cfg.BELTLINE_ADMIN_KEY) {
    cfg.BELTLINE_ADMIN_KEY = generateAdminKey();
    log.warn('BELTLINE_ADMIN_KEY is unset: generated an admin key for this run (see the start banner); set one to keep it');
  }
  const pool = createPool(cfg.databaseUrl);
  const readiness = readinessFor(cfg, roles, pool);
  const base: (() => Promise<void>)[] = [() => pool.end(), () => readiness.close()];
  const release = async (): Promise<void> => {
    for (const stop of [...base].reverse()) await stop().catch(() => undefined);
  };
  let started: { url?: string; stops: (() => Promise<void>)[] } | undefined;
  try {
    if (cfg.BELTLINE_METRICS_PORT !== undefined) {
      // Every role's process can expose its metrics and probes, HTTP server or not; from the
      // start, so that a process waiting for a dependency says which.
      const metrics = await startMetricsServer(cfg.BELTLINE_METRICS_HOST, cfg.BELTLINE_METRICS_PORT, readiness);
      base.push(() => metrics.close());
    }
    while (!started) {
      try {
        started = await startRoles(cfg, roles, opts, pool, readiness);
      } catch (err) {
        if (opts.signal?.aborted) throw new StartAborted();
        let down = await readiness.unreachable();
        if (!down) throw err;
        log.warn({ err: (err as Error).message }, `could not start: ${down}; trying again once it answers`);
        // The next attempt waits for the checks to pass: they are quick, while an attempt against
        // a dead server can take its whole connect timeout (and a SIGTERM would wait for it).
        for (let wait = 0; down; wait++) {
          readiness.notStarted(down);
          await abortableSleep(startRetryDelayMs(wait), opts.signal);
          const now = await readiness.unreachable();
          if (now && now !== down) log.warn(`still waiting to start: ${now}`);
          down = now;
        }
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  readiness.started();
  const { url, stops } = started;
  const kafkajs = kafkajsReport();
  if (kafkajs.missing) log.warn({ kafkajs }, "kafkajs 2.2.4 runs without beltline's fixes to it: something loaded it before src/kafka/kafkajs.ts");
  log.info({ roles, url, kafkajs }, 'beltline running');
  return {
    url,
    adminKey: cfg.BELTLINE_ADMIN_KEY,
    /**
     * The shutdown sequence (docs/operating.md, "Readiness and shutdown"): not ready at once,
     * then after BELTLINE_SHUTDOWN_DELAY the roles stop in reverse order of start: the collector
     * stops accepting, the bridge stops consuming (what it started is committed), the worker drains.
     */
    async stop() {
      readiness.markShuttingDown();
      log.info({ delayMs: cfg.BELTLINE_SHUTDOWN_DELAY, graceMs: cfg.BELTLINE_SHUTDOWN_GRACE }, 'shutting down: /ready answers 503');
      if (cfg.BELTLINE_SHUTDOWN_DELAY > 0) await new Promise((r) => setTimeout(r, cfg.BELTLINE_SHUTDOWN_DELAY));
      for (const stop of [...base, ...stops].reverse()) {
        await stop().catch((err: unknown) => log.warn({ err }, 'error while stopping'));
      }
      log.info('beltline stopped');
    },
  };
}

/** Thrown by startBeltline when its signal aborted the start (a SIGTERM while a dependency was down). */
export class StartAborted extends Error {
  constructor() {
    super('stopped before it started');
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StartAborted());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new StartAborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
