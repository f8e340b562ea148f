import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { createActivities } from '../activities';
import { beltTaskQueue, loadBeltsFromDir } from '../belts/definition';
import { listBelts, registerBelts } from '../belts/registry';
import type { DefinitionsFeed } from '../db/definitions-feed';
import { logger } from '../log';
import { batchSinks } from '../metrics';

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
    logger: new DefaultLogger('WARN', (e) => temporalLog[quieter(e.message) ?? level[e.level]](e.meta ?? {}, e.message)),
    // The SDK's native core prints to the console unless forwarded: through pino, every line is JSON.
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  });
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

/**
 * Registers the belts of the belts folder, then polls the main task queue (workflows, prepare
 * and apply) and one task queue per belt, with `scale` concurrent belt activities. Belts created,
 * rescaled or deleted through the API are picked up when the change is heard (else within 2 s). With `belt` set it polls only
 * that belt's queue: a worker process per belt is how a belt scales out.
 */
export async function startWorker(cfg: Config, pool: Pool, opts: { belt?: string; definitions?: DefinitionsFeed } = {}): Promise<RunningWorker> {
  installRuntime();
  await registerBelts(pool, await loadBeltsFromDir(cfg.BELTLINE_BELTS_DIR));
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const activities = createActivities(pool, cfg, opts.definitions);
  const runs: Promise<void>[] = [];
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
    });
    runs.push(main.run());
  }

  // One worker per belt task queue, keyed by name and scale so a rescale restarts it.
  const beltWorkers = new Map<string, { scale: number; worker: Worker; run: Promise<void> }>();
  const retiring: Promise<void>[] = [];
  let stopping = false;
  async function syncBelts(): Promise<void> {
    // Only a belt with a scale has a task queue of its own; the others run inside batches.
    const heads = (await listBelts(pool)).filter((h) => h.definition.scale !== undefined && (!opts.belt || h.name === opts.belt));
    const wanted = new Map(heads.map((h) => [h.name, h.definition.scale as number]));
    for (const [name, bw] of beltWorkers) {
      if (wanted.get(name) === bw.scale) continue;
      beltWorkers.delete(name);
      if (bw.worker.getState() === 'RUNNING') bw.worker.shutdown();
      // Not awaited here: a worker's shutdown can wait out a long poll (up to a minute), and new
      // belts must not wait that long to be picked up. Shutdown awaits it.
      retiring.push(bw.run.catch((err: unknown) => log.warn({ err, belt: name }, 'belt worker ended with an error')));
    }
    for (const [name, scale] of wanted) {
      if (beltWorkers.has(name) || stopping) continue;
      const worker = await Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue: beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, name),
        activities: { runBelt: activities.runBelt },
        maxConcurrentActivityTaskExecutions: scale,
      });
      beltWorkers.set(name, { scale, worker, run: worker.run() });
      log.info({ belt: name, scale }, 'polling belt task queue');
    }
  }
  await syncBelts();
  if (opts.belt && beltWorkers.size === 0) throw new Error(`no belt named ${opts.belt} with a scale (only a belt with a scale has a task queue of its own)`);
  let syncing = Promise.resolve();
  const sync = (): void => {
    syncing = syncing.then(syncBelts).catch((err: unknown) => log.warn({ err }, 'could not sync belt workers'));
  };
  // A belt change heard is synced at once; the interval catches what was not heard.
  const unsubscribe = opts.definitions?.subscribe((e) => {
    if (e === 'reset' || e.kind === 'belt') sync();
  });
  const timer = setInterval(sync, 2000);
  log.info({ taskQueue: cfg.BELTLINE_TASK_QUEUE, belts: [...beltWorkers.keys()] }, 'worker polling');

  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopped ??= (async () => {
      stopping = true;
      unsubscribe?.();
      clearInterval(timer);
      await syncing;
      const all = [...(main ? [main] : []), ...[...beltWorkers.values()].map((b) => b.worker)];
      for (const w of all) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.all([...runs, ...[...beltWorkers.values()].map((b) => b.run), ...retiring]);
      await connection.close();
    })());
  return { done: Promise.all(runs).then(() => undefined), shutdown };
}
