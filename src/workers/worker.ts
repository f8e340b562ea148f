import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { createActivities, ProjectActivityDeps } from '../activities';
import { beltTaskQueue, loadBeltsFromDir } from '../belts/definition';
import { listBelts, registerBelts } from '../belts/registry';
import type { DefinitionsFeed } from '../db/definitions-feed';
import { logger } from '../log';
import { DEFAULT_PROJECT } from '../projects/names';
import type { Projects } from '../projects/service';
import { batchSinks } from '../metrics';
import { heartbeatOptions } from './heartbeat';

const log = logger('worker');

/** The prebuilt bundle `npm run build` writes; without it the worker bundles at start. */
const PREBUILT_BUNDLE = path.resolve(__dirname, '..', '..', 'workflow-bundle.js');

function workflowSource(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const fromDist = __dirname.includes(`${path.sep}dist${path.sep}`);
  if (fromDist && fs.existsSync(PREBUILT_BUNDLE)) return { workflowBundle: { codePath: PREBUILT_BUNDLE } };
  return { workflowsPath: require.resolve('../workflows') };
}

let runtimeInstalled = false;

/** Temporal's own log lines go through pino, at WARN and above, like the rest of beltline. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const temporalLog = logger('temporal');
  const level: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
  Runtime.install({
    logger: new DefaultLogger('WARN', (e) => temporalLog[quieter(e.message) ?? level[e.level]](withErr(e.meta), e.message)),
    // The SDK's native core prints to the console unless forwarded: through pino, every line is JSON.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
}

/**
 * The SDK puts a failure under `error`, which pino writes as the Error's own enumerable fields: an
 * activity's failed attempt then said neither its message nor its stack. Under `err` pino's
 * serializer writes both, so an operator reads why a batch retries.
 */
function withErr(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!meta || !(meta.error instanceof Error)) return meta ?? {};
  const { error, ...rest } = meta;
  return { ...rest, err: error };
}

/** Lines the SDK logs as warnings that are expected in beltline's design. */
function quieter(message: string): 'debug' | 'info' | undefined {
  // A belt's worker polls activities only, by design (one such line per belt queue).
  if (message.startsWith('No workflows registered')) return 'debug';
  // A batch's steps are local activities inside the workflow task: a big batch keeps it open
  // for seconds, and the SDK heartbeats it. Worth seeing when tuning, not a warning.
  if (message.includes('[TMPRL1104]')) return 'info';
  return undefined;
}

export interface RunningWorker {
  /** Settles when every worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** A belt's worker is keyed by project and belt name. */
function beltKey(project: string, belt: string): string {
  return `${project}\u0000${belt}`;
}

/**
 * Registers the belts of the belts folder (into the default project), then polls the main task
 * queue (workflows, prepare and apply, for every project) and one task queue per belt with a
 * scale of every project, with `scale` concurrent belt activities. Belts and projects created,
 * rescaled or deleted through the API are picked up when the change is heard (else within 2 s);
 * a deleted project's belt workers stop. With `belt` set it polls only that belt's queue (of
 * `project`, default the default project): a worker process per belt is how a belt scales out.
 */
export async function startWorker(
  cfg: Config,
  projects: Projects,
  opts: { belt?: string; project?: string; definitions?: DefinitionsFeed } = {},
): Promise<RunningWorker> {
  installRuntime();
  await registerBelts(projects.db(DEFAULT_PROJECT), await loadBeltsFromDir(cfg.BELTLINE_BELTS_DIR));
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const deps = new ProjectActivityDeps(projects, cfg, opts.definitions);
  const activities = createActivities(deps);
  const beltProject = opts.project ?? DEFAULT_PROJECT;
  const runs: Promise<void>[] = [];
  // On shutdown, activities under way finish rather than being cancelled (the SDK's default):
  // a drained worker leaves no step for Temporal to time out and give to another.
  const drain: Pick<WorkerOptions, 'shutdownGraceTime'> = { shutdownGraceTime: cfg.BELTLINE_SHUTDOWN_GRACE };
  let main: Worker | undefined;

  if (!opts.belt) {
    main = await Worker.create({
      connection,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: cfg.BELTLINE_TASK_QUEUE,
      ...workflowSource(),
      sinks: batchSinks(),
      // Every activity, belts with no queue of their own included (their retries and backfills run here).
      activities,
      ...heartbeatOptions,
      ...drain,
    });
    runs.push(main.run());
  }

  // One worker per belt task queue, keyed by project, name and scale so a rescale restarts it.
  const beltWorkers = new Map<string, { project: string; belt: string; scale: number; worker: Worker; run: Promise<void> }>();
  const retiring: Promise<void>[] = [];
  let stopping = false;

  function retire(key: string): void {
    const bw = beltWorkers.get(key);
    if (!bw) return;
    beltWorkers.delete(key);
    if (bw.worker.getState() === 'RUNNING') bw.worker.shutdown();
    // Not awaited here: a worker's shutdown can wait out a long poll (up to a minute), and new
    // belts must not wait that long to be picked up. Shutdown awaits it.
    retiring.push(bw.run.catch((err: unknown) => log.warn({ err, project: bw.project, belt: bw.belt }, 'belt worker ended with an error')));
  }

  /** What stops for a deleted project: its belt workers, and the deps its activities held. */
  async function projectGone(project: string): Promise<void> {
    for (const [key, bw] of beltWorkers) if (bw.project === project) retire(key);
    await deps.drop(project);
    // Its pool reaches a schema that is gone (made again on use, should the project come back).
    await projects.pools.drop(project);
    log.info({ project }, 'project deleted: its belt workers stopped');
  }

  async function syncBelts(): Promise<void> {
    const present = new Set(opts.belt ? ((await projects.exists(beltProject)) ? [beltProject] : []) : (await projects.list()).map((p) => p.name));
    // Only a belt with a scale has a task queue of its own; the others run inside batches.
    const wanted = new Map<string, { project: string; belt: string; scale: number }>();
    for (const project of present) {
      for (const h of await listBelts(projects.db(project))) {
        if (h.definition.scale === undefined || (opts.belt && h.name !== opts.belt)) continue;
        wanted.set(beltKey(project, h.name), { project, belt: h.name, scale: h.definition.scale });
      }
    }
    const gone = new Set<string>();
    for (const [key, bw] of beltWorkers) {
      if (!present.has(bw.project)) gone.add(bw.project);
      if (wanted.get(key)?.scale !== bw.scale) retire(key);
    }
    for (const project of gone) await projectGone(project);
    for (const [key, { project, belt, scale }] of wanted) {
      if (beltWorkers.has(key) || stopping) continue;
      const taskQueue = beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, belt, project);
      const worker = await Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue,
        activities: { runBelt: activities.runBelt },
        ...heartbeatOptions,
        ...drain,
        maxConcurrentActivityTaskExecutions: scale,
      });
      beltWorkers.set(key, { project, belt, scale, worker, run: worker.run() });
      log.info({ project, belt, scale, taskQueue }, 'polling belt task queue');
    }
  }
  await syncBelts();
  if (opts.belt && beltWorkers.size === 0) {
    throw new Error(`no belt named ${opts.belt} with a scale in project ${beltProject} (only a belt with a scale has a task queue of its own)`);
  }
  let syncing = Promise.resolve();
  const sync = (): void => {
    syncing = syncing.then(syncBelts).catch((err: unknown) => log.warn({ err }, 'could not sync belt workers'));
  };
  // A belt or project change heard is synced at once; the interval catches what was not heard.
  const unsubscribe = opts.definitions?.subscribe((e) => {
    if (e !== 'reset' && e.kind === 'project') {
      // Deleted in another process: what this one holds for it goes too (a sync stops only belt workers).
      const project = e.name;
      syncing = syncing
        .then(async () => {
          if (!(await projects.exists(project))) await projectGone(project);
        })
        .catch((err: unknown) => log.warn({ err, project }, 'could not check a changed project'));
    }
    if (e === 'reset' || e.kind === 'belt' || e.kind === 'project') sync();
  });
  // Deleted in this process: stopped before the schema goes.
  const unlisten = projects.onDropped((project) => {
    syncing = syncing.then(() => projectGone(project)).catch((err: unknown) => log.warn({ err, project }, 'could not stop a deleted project\'s belt workers'));
    return syncing;
  });
  const timer = setInterval(sync, 2000);
  log.info({ taskQueue: cfg.BELTLINE_TASK_QUEUE, belts: [...beltWorkers.values()].map((b) => `${b.project}/${b.belt}`) }, 'worker polling');

  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      unsubscribe?.();
      unlisten();
      clearInterval(timer);
      await syncing;
      const all = [...(main ? [main] : []), ...[...beltWorkers.values()].map((b) => b.worker)];
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all([...runs, ...[...beltWorkers.values()].map((b) => b.run), ...retiring]);
      await connection.close();
      await deps.close();
    })());
  return { done: Promise.all(runs).then(() => undefined), shutdown };
}
