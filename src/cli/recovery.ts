import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { BAD_ROW_TYPES, parseRecoveryConfigText, RecoveryConfigError } from '../recovery/config';
import type { RowReport } from '../recovery/activities';
import type { RecoveryProgress, RecoveryResult } from '../workflows';
import { startRecovery } from '../recovery/start';
import { workflowUiUrl } from '../temporal/ui';
import { currentProject } from './resource';

interface RecoverOptions {
  config: string;
  since?: string;
  type?: string[];
  topic?: string;
  dryRun?: boolean;
  json?: boolean;
}

function show(v: unknown): string {
  return v === undefined ? '(removed)' : JSON.stringify(v);
}

/** One row of the report: what the flow changed (a dry run's diff), or why the row was not recovered. */
export function formatReport(r: RowReport, dryRun: boolean): string[] {
  const head = `bad row ${r.id} (${r.type}): `;
  if (r.status === 'recovered') {
    return [`${head}${dryRun ? 'would be recovered' : 'recovered'} by flow "${r.flow}"`, ...r.changes.map((c) => `  ${c.path}: ${show(c.before)} → ${show(c.after)}`)];
  }
  return [`${head}${r.status}: ${r.reason}`, ...r.changes.map((c) => `  (before failing) ${c.path}: ${show(c.before)} → ${show(c.after)}`)];
}

export function summary(r: Pick<RecoveryResult, 'counts' | 'dryRun' | 'done'>): string {
  const { recovered, failed, unmatched, unrecoverable } = r.counts;
  const counts = `${recovered} ${r.dryRun ? 'would be recovered' : 'recovered'}, ${failed} failed, ${unmatched} unmatched, ${unrecoverable} unrecoverable (of ${r.done} bad rows)`;
  return r.dryRun ? `dry run, nothing changed: ${counts}` : counts;
}

async function recover(opts: RecoverOptions): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync(opts.config, 'utf8');
  } catch (err) {
    console.error(`${opts.config}: ${(err as Error).message}`);
    process.exitCode = 2;
    return;
  }
  let config: unknown;
  try {
    parseRecoveryConfigText(text);
    config = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof RecoveryConfigError)) throw err;
    console.error(`invalid recovery configuration ${opts.config}: ${err.message}`);
    process.exitCode = 2;
    return;
  }
  if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) {
    console.error(`--since: not a date: ${opts.since}`);
    process.exitCode = 2;
    return;
  }
  const unknownType = opts.type?.find((t) => !BAD_ROW_TYPES.includes(t as (typeof BAD_ROW_TYPES)[number]));
  if (unknownType) {
    console.error(`--type: ${JSON.stringify(unknownType)} is not a bad-row type (one of ${BAD_ROW_TYPES.join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const cfg = loadConfig();
  // The worker migrates too; this makes a first run against a fresh database work as well.
  const pool = createPool(cfg.databaseUrl, 1);
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }

  // Loaded for this command alone: Temporal's client is most of the CLI's start-up time.
  const [{ Client, Connection }, { default: cliProgress }] = await Promise.all([import('@temporalio/client'), import('cli-progress')]);
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const handle = await startRecovery(client, cfg, {
      config,
      filter: { since: opts.since ? new Date(opts.since).toISOString() : undefined, types: opts.type, topic: opts.topic },
      dryRun: opts.dryRun === true,
      project: currentProject(),
    });
    const { workflowId } = handle;
    console.error(`recovery${opts.dryRun ? ' (dry run)' : ''}: workflow ${workflowId} (Temporal Web UI: ${workflowUiUrl(cfg, workflowId) ?? 'set BELTLINE_TEMPORAL_UI_URL'})`);
    const bar = new cliProgress.SingleBar(
      { format: 'recover {bar} {value}/{total} bad rows, {recovered} recovered, {others} not', hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    for (;;) {
      const p = await handle.query<RecoveryProgress>('recoveryProgress').catch(() => undefined);
      if (p) {
        const others = p.counts.failed + p.counts.unmatched + p.counts.unrecoverable;
        if (!started) bar.start(p.total, 0, { recovered: 0, others: 0 });
        started = true;
        bar.setTotal(Math.max(p.total, p.done));
        bar.update(p.done, { recovered: p.counts.recovered, others });
      }
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING' && status.name !== 'CONTINUED_AS_NEW') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const result = (await handle.result()) as RecoveryResult;
    if (started) bar.stop();
    if (opts.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    for (const r of result.reports) for (const line of formatReport(r, result.dryRun)) console.log(line);
    if (result.omitted > 0) console.log(`… and ${result.omitted} more rows (narrow the run with --since, --type or --topic, or use --json)`);
    console.log(summary(result));
  } finally {
    await connection.close();
  }
}

export function registerRecoveryCommands(program: Command): void {
  program
    .command('recover')
    .description('repair stored bad rows with recovery flows (Snowplow event recovery) and send them to raw again')
    .requiredOption('--config <file>', 'recovery configuration (JSON): flows keyed by bad-row type')
    .option('--since <time>', 'only bad rows stored from then on (ISO-8601)')
    .option('--type <type...>', 'only bad rows of these types')
    .option('--topic <topic>', 'only bad rows of batches read from this Kafka topic')
    .option('--dry-run', 'change nothing: print, per bad row, what the flow would change')
    .option('--json', 'print the result as JSON')
    .action((opts: RecoverOptions) => recover(opts));
}
