import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { BeltRunner } from '../belts/runner';
import { BeltHeadCache } from '../belts/registry';
import type { Config } from '../config';
import { DefinitionsFeed } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import { EventTypeCache } from '../eventtypes/store';
import { Partitions } from '../events/partitions';
import { Harvesting } from '../harvesters/run';
import { ProfileCache } from '../profiles/cache';
import { ChangePublisher } from '../profiles/outbox';
import { logger } from '../log';
import { DEFAULT_PROJECT } from '../projects/names';
import { ensureProjectTopics, projectConfig } from '../projects/topics';
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
  beltHeads: BeltHeadCache;
  /** The profiles this process wrote, as it wrote them (see ProfileCache). */
  profiles: ProfileCache;
  /** Connected on first use: a worker that never publishes never connects. */
  producer(): ResilientProducer;
  /** The change stream, published after each commit without the batch waiting for it. */
  changes: ChangePublisher;
}

const log = logger('activities');

/**
 * `definitions` is the process's feed; without one, a feed that never listens is made, and the
 * version check alone keeps definitions current (one reload per change). `pool` is the project's
 * (its search_path the project's schema) and `cfg` is seen through `projectConfig`: the activities
 * read and write the project's tables and topics without naming either. `producer` lets the
 * projects of a process share one Kafka producer.
 */
export function createDeps(
  pool: Pool,
  cfg: Config,
  definitions: DefinitionsFeed = new DefinitionsFeed(cfg.databaseUrl),
  opts: { project?: string; producer?: () => ResilientProducer } = {},
): ActivityDeps {
  let made: ResilientProducer | undefined;
  const project = opts.project ?? DEFAULT_PROJECT;
  const producer = opts.producer ?? (() => (made ??= new ResilientProducer(createKafka(cfg, 'beltline-worker'))));
  const projectCfg = projectConfig(cfg, project);
  return {
    pool,
    cfg: projectCfg,
    project,
    definitions,
    types: new EventTypeCache(pool, definitions),
    harvesting: new Harvesting(pool, definitions),
    partitions: new Partitions(pool),
    schemas: new SchemaRegistry(pool),
    belts: new BeltRunner(pool),
    beltHeads: new BeltHeadCache(pool, definitions),
    profiles: ProfileCache.fromConfig(cfg),
    producer,
    // What fails to go out now, the worker's outbox sweeper sends later.
    changes: new ChangePublisher(pool, producer, projectCfg.BELTLINE_PROFILE_UPDATES_TOPIC, (err) => log.warn({ err, project }, 'change stream publish deferred')),
  };
}

/** Where a process reaches each project's tables: `Projects` does, and so does one pool for the default project alone. */
export interface ProjectDatabases {
  db(project: string): Pool;
  exists(project: string): Promise<boolean>;
}

/** The default project only, on one pool: processes and tests from before projects. */
export function defaultProjectOnly(pool: Pool): ProjectDatabases {
  return {
    db: (project) => {
      if (project !== DEFAULT_PROJECT) throw ApplicationFailure.nonRetryable(`project ${project} is not served here`, 'UnknownProject');
      return pool;
    },
    exists: async (project) => project === DEFAULT_PROJECT,
  };
}

/**
 * The ActivityDeps of each project a worker has run something for, made on first use and kept
 * (caches, sandboxes, the project's topics made once) until the project is deleted. One Kafka
 * producer serves them all.
 */
export class ProjectActivityDeps {
  private readonly held = new Map<string, Promise<ActivityDeps>>();
  private producer: ResilientProducer | undefined;
  private readonly shared = (): ResilientProducer => (this.producer ??= new ResilientProducer(createKafka(this.cfg, 'beltline-worker')));

  constructor(
    readonly databases: ProjectDatabases,
    readonly cfg: Config,
    readonly definitions: DefinitionsFeed = new DefinitionsFeed(cfg.databaseUrl),
  ) {}

  /**
   * The project's deps. A project that does not exist (deleted while its workflows ran) fails the
   * activity for good: its tables are gone, retrying cannot help.
   */
  get(project: string = DEFAULT_PROJECT): Promise<ActivityDeps> {
    let deps = this.held.get(project);
    if (!deps) {
      deps = this.make(project);
      // A failed make (PostgreSQL away, an unknown project) is not kept: the next attempt asks again.
      deps.catch(() => this.held.delete(project));
      this.held.set(project, deps);
    }
    return deps;
  }

  private async make(project: string): Promise<ActivityDeps> {
    if (!(await this.databases.exists(project))) throw ApplicationFailure.nonRetryable(`no project named ${project}`, 'UnknownProject');
    const deps = createDeps(this.databases.db(project), this.cfg, this.definitions, { project, producer: this.shared });
    // Its bad-row and change-stream topics are written by this process; the broker makes no topic on write.
    if (project !== DEFAULT_PROJECT) {
      const admin = createKafka(this.cfg, 'beltline-worker').admin();
      await admin.connect();
      try {
        await ensureProjectTopics(admin, this.cfg, project);
      } finally {
        await admin.disconnect();
      }
    }
    return deps;
  }

  /** Forgets a deleted project (its sandboxes and Python processes close). */
  async drop(project: string): Promise<void> {
    const deps = this.held.get(project);
    this.held.delete(project);
    const d = await deps?.catch(() => undefined);
    await d?.changes.drain();
    await d?.belts.close();
  }

  async close(): Promise<void> {
    const all = [...this.held.keys()];
    for (const p of all) await this.drop(p);
    await this.producer?.disconnect();
  }
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
