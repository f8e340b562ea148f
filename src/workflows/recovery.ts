import { continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RowReport, RowStatus } from '../recovery/activities';
import type { RecoveryFilter } from '../recovery/store';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from './liveness';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20, nonRetryableErrorTypes: ['RecoveryConfigError'] };
const { recoveryBounds, recoverBadRowPage } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT, retry });

export interface RecoverBadRowsInput {
  /** The recovery configuration as written (seed 002's shape); the CLI checked it already. */
  config: unknown;
  filter: RecoveryFilter;
  dryRun: boolean;
  /** Whose bad rows (and raw topic); absent in runs started before projects: the default project. */
  project?: string;
  /** Carried across continue-as-new. */
  after?: string;
  max?: string | null;
  total?: number;
  counts?: Record<RowStatus, number>;
  reports?: RowReport[];
  omitted?: number;
}

export interface RecoveryProgress {
  run: string;
  dryRun: boolean;
  done: number;
  total: number;
  counts: Record<RowStatus, number>;
  finished: boolean;
}

export interface RecoveryResult extends RecoveryProgress {
  /** Per row: every row in a dry run (with the diff), the rows not recovered otherwise. At most REPORTS. */
  reports: RowReport[];
  /** Reports left out past REPORTS. */
  omitted: number;
}

export const recoveryProgressQuery = defineQuery<RecoveryProgress>('recoveryProgress');

const PAGES_PER_RUN = 40;
/** Reports kept in the result: it travels through Temporal (well under its 2 MB payload limit). */
export const REPORTS = 1000;

/**
 * Runs a recovery configuration over the stored bad rows, a page (one activity) at a time, up to
 * the newest row there was when it started. The run's id is its workflow id: recovered rows are
 * marked with it. A dry run changes nothing and returns each row's diff.
 */
export async function recoverBadRows(input: RecoverBadRowsInput): Promise<RecoveryResult> {
  const run = workflowInfo().workflowId;
  const bounds = input.max !== undefined ? { max: input.max, total: input.total ?? 0 } : await recoveryBounds(input.filter, input.project);
  const counts = input.counts ?? { recovered: 0, failed: 0, unmatched: 0, unrecoverable: 0 };
  const reports = input.reports ?? [];
  let omitted = input.omitted ?? 0;
  const progress: RecoveryProgress = { run, dryRun: input.dryRun, done: Object.values(counts).reduce((a, b) => a + b, 0), total: bounds.total, counts, finished: false };
  setHandler(recoveryProgressQuery, () => progress);
  const finish = (): RecoveryResult => {
    progress.finished = true;
    return { ...progress, reports, omitted };
  };
  if (bounds.max === null) return finish();

  let after = input.after ?? '0';
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const result = await recoverBadRowPage({ config: input.config, run, filter: input.filter, after, max: bounds.max, dryRun: input.dryRun, project: input.project });
    if (result.last === null) return finish();
    for (const k of Object.keys(counts) as RowStatus[]) counts[k] += result.counts[k];
    progress.done += result.rows;
    const room = Math.max(0, REPORTS - reports.length);
    reports.push(...result.reports.slice(0, room));
    omitted += Math.max(0, result.reports.length - room);
    after = result.last;
  }
  // Keeps each run's history short however many bad rows there are.
  return continueAsNew<typeof recoverBadRows>({ ...input, after, max: bounds.max, total: bounds.total, counts, reports, omitted });
}
