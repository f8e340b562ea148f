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

/** Where Temporal's Web UI shows a workflow, after its base URL. */
export function temporalUiPath(cfg: Pick<Config, 'TEMPORAL_NAMESPACE'>, workflowId: string): string {
  return `/namespaces/${encodeURIComponent(cfg.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** The Web UI of the local stack (`beltline stack` serves it on TEMPORAL_UI_PORT). */
export function temporalUiUrl(cfg: Pick<Config, 'TEMPORAL_NAMESPACE' | 'TEMPORAL_UI_PORT'>, workflowId: string): string {
  return `http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}${temporalUiPath(cfg, workflowId)}`;
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
