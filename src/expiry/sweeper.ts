import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { logger } from '../log';
import type { ResilientProducer } from '../kafka/producer';
import { publishOutbox } from '../profiles/outbox';
import { bucketEnd, reaperId } from './buckets';
import { DEFAULT_PROJECT, projectTopic } from '../projects/names';
import { PROJECT } from '../workflows/search-attributes';

const log = logger('expiry');

/** The projects a sweeper goes through, and how it reaches each one's tables. */
export interface SweptProjects {
  list(): Promise<{ name: string }[]>;
  db(project: string): Pool;
}

/**
 * The safety net behind the batch workflows, for every project: buckets past their end that still
 * hold entries (their reaper was never started, or a start was lost in a crash) get a reaper, and
 * change-stream messages not yet published are sent to the project's topic. Runs in every worker;
 * both steps are idempotent.
 */
export function startSweeper(cfg: Config, projects: SweptProjects, client: () => Promise<Client>, producer: () => ResilientProducer, intervalMs = 5000): { stop(): void } {
  let running = false;
  async function sweepProject(project: string, pool: Pool): Promise<void> {
    await publishOutbox(pool, producer(), projectTopic(cfg.BELTLINE_PROFILE_UPDATES_TOPIC, project));
    const graceMs = Math.max(10_000, cfg.BELTLINE_EXPIRY_BUCKET_MS);
    const { rows } = await pool.query<{ bucket: string }>('SELECT DISTINCT bucket FROM expirations ORDER BY bucket LIMIT 1000');
    const overdue = rows.map((r) => Number(r.bucket)).filter((b) => bucketEnd(b, cfg.BELTLINE_EXPIRY_BUCKET_MS) < Date.now() - graceMs);
    for (const bucket of overdue) {
      try {
        await (await client()).workflow.start('reapBucket', {
          taskQueue: cfg.BELTLINE_TASK_QUEUE,
          workflowId: reaperId(cfg.BELTLINE_TASK_QUEUE, bucket, cfg.BELTLINE_EXPIRY_BUCKET_MS, project),
          args: [project === DEFAULT_PROJECT ? { bucket, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS } : { bucket, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS, project }],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
          typedSearchAttributes: [{ key: PROJECT, value: project }],
        });
        log.info({ project, bucket }, 'started the reaper of an overdue bucket');
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    }
  }
  async function sweep(): Promise<void> {
    for (const { name } of await projects.list()) {
      // One project failing (deleted mid-sweep, say) holds up none other.
      await sweepProject(name, projects.db(name)).catch((err: unknown) => log.warn({ err, project: name }, 'expiry sweep failed'));
    }
  }
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((err: unknown) => log.warn({ err }, 'expiry sweep failed'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
