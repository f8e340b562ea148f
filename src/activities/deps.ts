import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { BeltRunner } from '../belts/runner';
import type { Config } from '../config';
import { EventTypeCache } from '../eventtypes/store';
import { Partitions } from '../events/partitions';
import { Harvesting } from '../harvesters/run';
import { DEFAULT_PROJECT } from '../http/projects';
import { createKafka, ResilientProducer } from '../ingest/kafka';
import { SchemaRegistry } from '../schemas/registry';

/** What the activities share in a worker process: one pool, caches, sandboxes and one producer. */
export interface ActivityDeps {
  pool: Pool;
  cfg: Config;
  project: string;
  types: EventTypeCache;
  harvesting: Harvesting;
  partitions: Partitions;
  schemas: SchemaRegistry;
  belts: BeltRunner;
  /** Connected on first use: a worker that never publishes never connects. */
  producer(): ResilientProducer;
}

export function createDeps(pool: Pool, cfg: Config): ActivityDeps {
  let producer: ResilientProducer | undefined;
  return {
    pool,
    cfg,
    project: DEFAULT_PROJECT,
    types: new EventTypeCache(pool),
    harvesting: new Harvesting(pool),
    partitions: new Partitions(pool),
    schemas: new SchemaRegistry(pool),
    belts: new BeltRunner(pool),
    producer: () => (producer ??= new ResilientProducer(createKafka(cfg, 'beltline-worker'))),
  };
}

/** The workflow (batch, rerun, reaper) an activity runs for, for its log lines; none outside one. */
export function workflowId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}

/** A live-segment lookup over the project's event types, for classifying DirectUpdate outputs. */
export async function liveSegmentLookup(deps: ActivityDeps): Promise<(name: string) => boolean> {
  const types = await deps.types.all(deps.project);
  return (name) => types.get(name)?.type === 'live_segment';
}
