import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { logger } from '../log';
import type { ResilientProducer } from '../kafka/producer';
import { publishOutbox } from '../profiles/outbox';
import { bucketEnd, reaperId } from './buckets';

const log = logger('expiry');

/**
 * The safety net behind the batch workflows: buckets past their end that still hold entries
 * (their reaper was never started, or a start was lost in a crash) get a reaper, and change-stream
 * messages not yet published are sent. Runs in every worker; both steps are idempotent.
 */
export function startSweeper(cfg: Config, pool: Pool, client: () => Promise<Client>, producer: () => ResilientProducer, intervalMs = 5000): { stop(): void } {
  let running = false;
  async function sweep(): Promise<void> {
    await publishOutbox(pool, producer(), cfg.BELTLINE_PROFILE_UPDATES_TOPIC);
    const graceMs = Math.max(10_000, cfg.BELTLINE_EXPIRY_BUCKET_MS);
    const { rows } = await pool.query<{ bucket: string }>('SELECT DISTINCT bucket FROM expirations ORDER BY bucket LIMIT 1000');
    const overdue = rows.map((r) => Number(r.bucket)).filter((b) => bucketEnd(b, cfg.BELTLINE_EXPIRY_BUCKET_MS) < Date.now() - graceMs);
    for (const bucket of overdue) {
      try {
        await (await client()).workflow.start('reapBucket', {
          taskQueue: cfg.BELTLINE_TASK_QUEUE,
          workflowId: reaperId(cfg.BELTLINE_TASK_QUEUE, bucket, cfg.BELTLINE_EXPIRY_BUCKET_MS),
          args: [{ bucket, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS }],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
        log.info({ bucket }, 'started the reaper of an overdue bucket');
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
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
