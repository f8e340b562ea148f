import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel, type WorkerOptions } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { createActivities } from '../activities';
import { beltTaskQueue, loadBeltsFromDir } from '../belts/definition';
import { registerBelts } from '../belts/registry';
import { logger } from '../log';

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
  Runtime.install({ logger: new DefaultLogger('WARN', (e) => temporalLog[level[e.level]](e.meta ?? {}, e.message)) });
}

export interface RunningWorker {
  /** Settles when every worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Registers the belts of the belts folder, then polls the main task queue (workflows, prepare
 * and apply) and one task queue per belt, with `scale` concurrent belt activities. With `belt`
 * set it polls only that belt's queue: a worker process per belt is how a belt scales out.
 */
export async function startWorker(cfg: Config, pool: Pool, opts: { belt?: string } = {}): Promise<RunningWorker> {
  installRuntime();
  const defs = await loadBeltsFromDir(cfg.BELTLINE_BELTS_DIR);
  await registerBelts(pool, defs);
  const connection = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
  const activities = createActivities(pool, cfg);
  const workers: Worker[] = [];

  if (!opts.belt) {
    workers.push(
      await Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue: cfg.BELTLINE_TASK_QUEUE,
        ...workflowSource(),
        activities: { prepareBatch: activities.prepareBatch, applyBatch: activities.applyBatch },
      }),
    );
  }
  const beltDefs = opts.belt ? defs.filter((d) => d.name === opts.belt) : defs;
  if (opts.belt && beltDefs.length === 0) throw new Error(`no belt named ${opts.belt} in ${cfg.BELTLINE_BELTS_DIR}`);
  for (const def of beltDefs) {
    workers.push(
      await Worker.create({
        connection,
        namespace: cfg.TEMPORAL_NAMESPACE,
        taskQueue: beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, def.name),
        activities: { runBelt: activities.runBelt },
        maxConcurrentActivityTaskExecutions: def.scale,
      }),
    );
  }
  log.info({ taskQueue: cfg.BELTLINE_TASK_QUEUE, belts: beltDefs.map((d) => d.name) }, 'worker polling');
  const done = Promise.all(workers.map((w) => w.run())).then(async () => {
    await connection.close();
  });
  return {
    done,
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}
