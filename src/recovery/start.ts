import crypto from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import { DEFAULT_PROJECT, projectScoped } from '../projects/names';
import { PROJECT } from '../workflows/search-attributes';
import type { RecoverBadRowsInput } from '../workflows';
import type { RecoveryFilter } from './store';

export interface StartRecovery {
  /** The configuration as written (JSON); checked by the caller, and again by the activity. */
  config: unknown;
  filter: RecoveryFilter;
  dryRun: boolean;
  project: string;
}

/**
 * Starts a `recoverBadRows` run (the CLI's `beltline recover` and the admin API's
 * POST …/recovery/runs): its id says when it started and, outside the default project, whose it is.
 */
export async function startRecovery(client: Client, cfg: Pick<Config, 'BELTLINE_TASK_QUEUE'>, s: StartRecovery): Promise<WorkflowHandle> {
  const stamp = new Date().toISOString().replace(/[:.]/g, '');
  const workflowId = projectScoped(`recover-${s.dryRun ? 'dry-run-' : ''}${stamp}-${crypto.randomBytes(2).toString('hex')}`, s.project);
  const input: RecoverBadRowsInput = { config: s.config, filter: s.filter, dryRun: s.dryRun, project: s.project };
  return client.workflow.start('recoverBadRows', {
    taskQueue: cfg.BELTLINE_TASK_QUEUE,
    workflowId,
    args: [input],
    typedSearchAttributes: [{ key: PROJECT, value: s.project || DEFAULT_PROJECT }],
  });
}
