import type { Pool } from 'pg';
import type { Config } from '../config';
import type { DefinitionsFeed } from '../db/definitions-feed';
import { createActionActivities } from '../actions/run';
import type { BeltRef } from '../belts/definition';
import type { EventSelector, IngestBatchInput } from '../batches/record';
import type { RecoveryPageInput } from '../recovery/activities';
import { createRecoveryActivities } from '../recovery/activities';
import type { RecoveryFilter } from '../recovery/store';
import { createApplyBatch } from './apply-batch';
import { defaultProjectOnly, ProjectActivityDeps, type ActivityDeps } from './deps';
import { createProcessBatch } from './process-batch';
import { createReapActivities } from './reap';
import { createRerunActivities } from './rerun';
import { createRunBelt } from './run-belt';

export type { AppliedBatch } from './apply-batch';
export type { BeltRunSummary, BeltTask, ProcessedBatch } from './process-batch';
export type { RerunBelt } from './rerun';
export type { BeltRun } from './run-belt';
export { ProjectActivityDeps, type ProjectDatabases } from './deps';

/** One project's activities, built around its deps (its pool, its topics). */
function projectActivities(deps: ActivityDeps) {
  return {
    ...createProcessBatch(deps),
    ...createRunBelt(deps),
    ...createApplyBatch(deps),
    ...createRerunActivities(deps),
    ...createReapActivities(deps),
    ...createRecoveryActivities(deps.pool, deps.cfg, deps.producer),
    /** prepareActions and deliverAction: the webhooks belts' Action(name, payload) outputs ask for. */
    ...createActionActivities(deps.pool, process.env, deps.project),
  };
}

type ProjectActivities = ReturnType<typeof projectActivities>;

/**
 * The activities a worker registers: each names its project in its input (absent in workflow
 * histories from before projects: the default project) and runs on that project's deps, built on
 * first use. The workflows see only their types.
 */
function activitiesOf(projects: ProjectActivityDeps) {
  const built = new WeakMap<ActivityDeps, ProjectActivities>();
  async function on(project: string | undefined): Promise<ProjectActivities> {
    const deps = await projects.get(project);
    let acts = built.get(deps);
    if (!acts) {
      acts = projectActivities(deps);
      built.set(deps, acts);
    }
    return acts;
  }
  return {
    async processBatch(input: IngestBatchInput) {
      return (await on(input.project)).processBatch(input);
    },
    async applyBatch(events: EventSelector | string[], project?: string) {
      return (await on(project)).applyBatch(events);
    },
    async runBelt(belt: BeltRef, events: EventSelector | string[], opts: { retryFailed?: boolean } = {}, project?: string) {
      return (await on(project)).runBelt(belt, events, opts ?? {});
    },
    async beltHead(name: string, project?: string) {
      return (await on(project)).beltHead(name);
    },
    async rerunCount(belt: string, mode: 'retry' | 'backfill', since?: string, project?: string) {
      return (await on(project)).rerunCount(belt, mode, since ?? undefined);
    },
    async rerunPage(belt: string, mode: 'retry' | 'backfill', since: string | undefined, after: string | undefined, project?: string) {
      return (await on(project)).rerunPage(belt, mode, since ?? undefined, after ?? undefined);
    },
    async reapBucketPage(bucket: number, project?: string) {
      return (await on(project)).reapBucketPage(bucket);
    },
    async recoveryBounds(filter: RecoveryFilter, project?: string) {
      return (await on(project)).recoveryBounds(filter);
    },
    async recoverBadRowPage(input: RecoveryPageInput & { project?: string }) {
      return (await on(input.project)).recoverBadRowPage(input);
    },
    async prepareActions(events: EventSelector | string[], project?: string) {
      return (await on(project)).prepareActions(events);
    },
    async deliverAction(key: string, maximumAttempts: number, project?: string) {
      return (await on(project)).deliverAction(key, maximumAttempts);
    },
  };
}

/**
 * Activities are built around their dependencies, as in Temporal's samples; one file per step,
 * the SQL in the domain stores. Given a pool, they serve the default project alone.
 */
export function createActivities(projects: ProjectActivityDeps): Activities;
export function createActivities(pool: Pool, cfg: Config, definitions?: DefinitionsFeed): Activities;
export function createActivities(source: ProjectActivityDeps | Pool, cfg?: Config, definitions?: DefinitionsFeed): Activities {
  if (source instanceof ProjectActivityDeps) return activitiesOf(source);
  return activitiesOf(new ProjectActivityDeps(defaultProjectOnly(source), cfg as Config, definitions));
}

export type Activities = ReturnType<typeof activitiesOf>;
