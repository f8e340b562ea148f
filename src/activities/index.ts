import type { Pool } from 'pg';
import type { Config } from '../config';
import type { DefinitionsFeed } from '../db/definitions-feed';
import { createActionActivities } from '../actions/run';
import { createRecoveryActivities } from '../recovery/activities';
import { createApplyBatch } from './apply-batch';
import { createDeps } from './deps';
import { createProcessBatch } from './process-batch';
import { createReapActivities } from './reap';
import { createRerunActivities } from './rerun';
import { createRunBelt } from './run-belt';

export type { AppliedBatch } from './apply-batch';
export type { BeltRunSummary, BeltTask, ProcessedBatch } from './process-batch';
export type { RerunBelt } from './rerun';
export type { BeltRun } from './run-belt';

/**
 * Activities are built around their dependencies (a pool, the config), as in Temporal's samples;
 * the workflows see only their types. One file per step; the SQL lives in the domain stores.
 */
export function createActivities(pool: Pool, cfg: Config, definitions?: DefinitionsFeed) {
  const deps = createDeps(pool, cfg, definitions);
  return {
    ...createProcessBatch(deps),
    ...createRunBelt(deps),
    ...createApplyBatch(deps),
    ...createRerunActivities(deps),
    ...createReapActivities(deps),
    ...createRecoveryActivities(pool, cfg, deps.producer),
    /** prepareActions and deliverAction: the webhooks belts' Action(name, payload) outputs ask for. */
    ...createActionActivities(pool),
  };
}

export type Activities = ReturnType<typeof createActivities>;
