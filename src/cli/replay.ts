import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../config';
import { batchRetry } from '../batches/record';
import { parseSince } from '../replay/query';
import type { FailedBatch, ReplayOutcome } from '../replay/replay';
import { currentProject } from './resource';

/** How many replayed batches run at once under `--all`. */
const CONCURRENCY = 4;

async function withTemporal<T>(cfg: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  // Loaded for these commands alone: Temporal's client is most of the CLI's start-up time.
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: '5s' }).catch((err: unknown) => {
    throw new Error(`Temporal unreachable at ${cfg.TEMPORAL_ADDRESS}: ${(err as Error).message}`);
  });
  try {
    return await fn(new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE }));
  } finally {
    await connection.close();
  }
}

function sinceOpt(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  try {
    return parseSince(v);
  } catch (err) {
    throw new Error(`--since: ${(err as Error).message}`);
  }
}

function line(b: FailedBatch): string {
  const types = b.eventTypes.length > 0 ? b.eventTypes.join(',') : '-';
  const again = b.previousRuns > 0 ? ` (failed ${b.previousRuns + 1} times)` : '';
  return `${b.closeTime ?? b.startTime}  ${b.workflowId}  types=${types}${b.eventCount !== undefined ? ` events=${b.eventCount}` : ''}${again}\n    ${b.reason}`;
}

interface RunResult {
  batch: string;
  outcome: ReplayOutcome['outcome'];
  ok: boolean;
  reason?: string;
}

async function replayOne(client: Client, cfg: Config, workflowId: string): Promise<RunResult> {
  const { replayBatch, waitForRun } = await import('../replay/replay');
  const r = await replayBatch(client, workflowId, batchRetry(cfg), currentProject());
  if (r.outcome !== 'started') return { batch: workflowId, outcome: r.outcome, ok: true };
  const done = await waitForRun(client, workflowId, r.runId);
  return { batch: workflowId, outcome: r.outcome, ...done };
}

// Failed batches are the project's (`--project`, BeltlineProject) of this deployment's task queue;
// a batch named by workflow id is replayed only when it is the project's.
export function registerReplayCommands(program: Command): void {
  const cmd = program
    .command('replay')
    .description('batches that failed after their activity retries (input kept in Temporal): list them, run them again');
  cmd
    .command('list')
    .description("failed batches of this deployment's task queue (BELTLINE_TASK_QUEUE), oldest first")
    .option('--since <time>', 'started from then on: ISO-8601, or 30m / 2h / 1d back from now')
    .option('--event-type <name>', 'holding events of this type')
    .option('--json', 'print JSON')
    .action(async (opts: { since?: string; eventType?: string; json?: boolean }) => {
      const cfg = loadConfig();
      const { listFailedBatches } = await import('../replay/replay');
      const batches = await withTemporal(cfg, (client) => listFailedBatches(client, { taskQueue: cfg.BELTLINE_TASK_QUEUE, project: currentProject(), since: sinceOpt(opts.since), eventType: opts.eventType }));
      if (opts.json) return console.log(JSON.stringify(batches, null, 2));
      if (batches.length === 0) return console.log('no failed batches');
      for (const b of batches) console.log(line(b));
      console.log(`${batches.length} failed batch${batches.length === 1 ? '' : 'es'}; run them again with \`beltline replay run --all\``);
    });
  cmd
    .command('run [workflowId]')
    .description('run a failed batch again (same workflow id, a new run; nothing is applied twice) and wait for it')
    .option('--all', 'every failed batch (with --since / --event-type: those)')
    .option('--since <time>', 'with --all: started from then on')
    .option('--event-type <name>', 'with --all: holding events of this type')
    .action(async (workflowId: string | undefined, opts: { all?: boolean; since?: string; eventType?: string }) => {
      if (!workflowId === !opts.all) throw new Error('name one batch (its workflow id) or --all');
      const cfg = loadConfig();
      await withTemporal(cfg, async (client) => {
        if (workflowId) {
          const r = await replayOne(client, cfg, workflowId);
          if (r.outcome === 'completed') console.log(`${workflowId}: already completed; nothing to replay`);
          else if (r.outcome === 'running') console.log(`${workflowId}: running now (replayed already?); nothing started`);
          else if (r.ok) console.log(`${workflowId}: replayed, completed`);
          else {
            console.log(`${workflowId}: replayed, failed again: ${r.reason}`);
            process.exitCode = 1;
          }
          return;
        }
        const { listFailedBatches } = await import('../replay/replay');
        const batches = await listFailedBatches(client, { taskQueue: cfg.BELTLINE_TASK_QUEUE, project: currentProject(), since: sinceOpt(opts.since), eventType: opts.eventType });
        if (batches.length === 0) return console.log('no failed batches');
        const { default: cliProgress } = await import('cli-progress');
        const bar = new cliProgress.SingleBar({ format: 'replay {bar} {value}/{total} batches, {failed} failed again', hideCursor: true }, cliProgress.Presets.shades_classic);
        bar.start(batches.length, 0, { failed: 0 });
        const results: RunResult[] = [];
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < batches.length) {
            const b = batches[next++];
            const r = await replayOne(client, cfg, b.workflowId).catch((err: unknown) => ({ batch: b.workflowId, outcome: 'started' as const, ok: false, reason: (err as Error).message }));
            results.push(r);
            bar.increment(1, { failed: results.filter((x) => !x.ok).length });
          }
        };
        await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batches.length) }, worker));
        bar.stop();
        const failed = results.filter((r) => !r.ok);
        const skipped = results.filter((r) => r.outcome !== 'started');
        for (const r of failed) console.log(`${r.batch}: failed again: ${r.reason}`);
        console.log(`replay finished: ${results.length - skipped.length} batches replayed, ${results.length - skipped.length - failed.length} completed, ${failed.length} failed again${skipped.length > 0 ? `, ${skipped.length} replayed by someone else meanwhile` : ''}`);
        if (failed.length > 0) process.exitCode = 1;
      });
    });
}
