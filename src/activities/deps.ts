import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import { BeltRunner } from '../belts/runner';
import type { Config } from '../config';
import { DefinitionsFeed } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import { EventTypeCache } from '../eventtypes/store';
import { Partitions } from '../events/partitions';
import { Harvesting } from '../harvesters/run';
import { DEFAULT_PROJECT } from '../projects/names';
import { createKafka, ResilientProducer } from '../kafka/producer';
import { SchemaRegistry } from '../schemas/registry';

/** What the activities share in a worker process: one pool, caches, sandboxes and one producer. */
export interface ActivityDeps {
  pool: Pool;
  cfg: Config;
  project: string;
  /** Heard changes keep the caches current; `currentTypes` catches up on any not heard yet. */
  definitions: DefinitionsFeed;
  types: EventTypeCache;
  harvesting: Harvesting;
  partitions: Partitions;
  schemas: SchemaRegistry;
  belts: BeltRunner;
  /** Connected on first use: a worker that never publishes never connects. */
  producer(): ResilientProducer;
}

/**
 * `definitions` is the process's feed; without one, a feed that never listens is made, and the
 * version check alone keeps definitions current (one reload per change).
 */
export function createDeps(pool: Pool, cfg: Config, definitions: DefinitionsFeed = new DefinitionsFeed(cfg.databaseUrl)): ActivityDeps {
  let producer: ResilientProducer | undefined;
  return {
    pool,
    cfg,
    project: DEFAULT_PROJECT,
    definitions,
    types: new EventTypeCache(pool, definitions),
    harvesting: new Harvesting(pool, definitions),
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

/**
 * The project's event types with every change committed before the call: a change the API has
 * answered for is in effect for the batch, whether or not its notification has arrived.
 */
export async function currentTypes(deps: ActivityDeps): Promise<ReadonlyMap<string, EventType>> {
  await deps.definitions.catchUp(deps.pool, deps.project);
  return deps.types.all(deps.project);
}

/** A live-segment lookup over the project's event types, for classifying DirectUpdate outputs. */
export async function liveSegmentLookup(deps: ActivityDeps, types?: ReadonlyMap<string, EventType>): Promise<(name: string) => boolean> {
  const all = types ?? (await currentTypes(deps));
  return (name) => all.get(name)?.type === 'live_segment';
}
