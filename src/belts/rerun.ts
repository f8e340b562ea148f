import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { BeltRerunInput, RerunProgress } from '../workflows';
import { DEFAULT_PROJECT, projectScoped } from '../projects/names';
import { BELTS, PROJECT } from '../workflows/search-attributes';

/** Starts a retry or backfill workflow; its id says what it is, so the Web UI lists it readably. */
export async function startRerun(client: Client, taskQueue: string, input: BeltRerunInput): Promise<string> {
  const workflowId = projectScoped(`belt-${input.mode}-${input.belt}-${new Date().toISOString().replace(/[:.]/g, '')}-${crypto.randomBytes(2).toString('hex')}`, input.project);
  await client.workflow.start('beltRerun', {
    taskQueue,
    workflowId,
    args: [input],
    typedSearchAttributes: [
      { key: BELTS, value: [input.belt] },
      { key: PROJECT, value: input.project ?? DEFAULT_PROJECT },
    ],
  });
  return workflowId;
}

export async function rerunProgress(client: Client, workflowId: string): Promise<RerunProgress> {
  return client.workflow.getHandle(workflowId).query<RerunProgress>('progress');
}
