import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DefinitionEvents } from '../db/definitions-feed';
import type { Consumer, ConsumerConfig, EachBatchPayload } from 'kafkajs';
import type { Pool } from 'pg';
import { stageBatch, type BatchRef } from '../batches/staging';
import type { Config } from '../config';
import { logger } from '../log';
import { addLagSource, batchesStarted, slowBatches } from '../metrics';
import { EVENT_TYPES, PROJECT, SOURCE } from '../workflows/search-attributes';
import { DEFAULT_PROJECT, projectTopic } from '../projects/names';
import { ensureProjectTopics } from '../projects/topics';
import { batchFetch, cutBatches } from './batcher';
import { InFlight, type Slot } from './in-flight';
import { createKafka } from '../kafka/producer';
import { consumerGroupLag } from './lag';
import { batchRetry, batchWorkflowId, type BatchRecord, type IngestBatchInput } from '../batches/record';

const log = logger('bridge');

export interface Bridge {
  stop(): Promise<void>;
}

/** Test-only fault injection: die like a `kill -9` right after a start was acknowledged. */
const crashAfterStart = process.env.BELTLINE_FAULT === 'bridge-crash-after-start';

/** How often a bridge waiting (for a slot, or for Temporal) tells the group coordinator it lives. */
const HEARTBEAT_MS = 2000;

/**
 * A bridge that died (kill -9) holds its partitions until its session times out: kept short. A
 * live bridge waiting on PostgreSQL or Temporal for longer than this heartbeats meanwhile.
 */
export const CONSUMER_SESSION_TIMEOUT_MS = 10_000;

/**
 * The event types a batch's records declare (a JSON record's type, `snowplow` for tracker
 * events), known before any activity runs: a batch that fails at once is still findable by type
 * (`BeltlineEventTypes`). processBatch replaces them with the types of the events it stored.
 */
export function declaredEventTypes(topic: string, records: readonly BatchRecord[], rawTopic: string): string[] {
  if (topic !== rawTopic) return [];
  const types = new Set<string>();
  for (const r of records) {
    // The collector writes kind and type first: read them without parsing whole requests.
    const head = r.value.slice(0, 300);
    if (head.startsWith('{"kind":"snowplow"')) {
      types.add('snowplow');
      continue;
    }
    const m = /^\{"kind":"json","collector":"[^"]*","timestamp":\d+,"eventType":("(?:[^"\\]|\\.)*")/.exec(head);
    if (m) {
      types.add(JSON.parse(m[1]) as string);
      continue;
    }
    try {
      const v = JSON.parse(r.value) as { kind?: unknown; eventType?: unknown };
      if (v.kind === 'snowplow') types.add('snowplow');
      else if (v.kind === 'json' && typeof v.eventType === 'string') types.add(v.eventType);
    } catch {
      // an unparseable record becomes a bad row in the batch
    }
  }
  return [...types].sort();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How often the bridge looks for harvested topics that did not exist when last asked. */
const TOPIC_POLL_MS = 30_000;

export interface BridgeTopics {
  /** The Kafka topics a project's harvesters read, besides raw topics; asked again when harvesters change. */
  harvestedTopics?: (project: string) => Promise<string[]>;
  /** Harvester and project changes, to consume a new harvester's topic or a new project's at once. */
  definitions?: DefinitionEvents;
}

/** The projects the bridge serves: their names, and the pool that reaches each one's schema. */
export interface BridgeProjects {
  list(): Promise<{ name: string }[]>;
  db(project: string): Pool;
  exists(project: string): Promise<boolean>;
}

/** The default project alone, on one pool (a bridge from before projects). */
export function singleProject(pool: Pool): BridgeProjects {
  return { list: async () => [{ name: DEFAULT_PROJECT }], db: () => pool, exists: async (p) => p === DEFAULT_PROJECT };
}

/**
 * Which projects a topic's records go to: each project's raw topic to it, and a harvested topic to
 * every project whose harvesters read it (two projects harvesting one topic each get a batch of
 * their own). Pure: topic → projects, sorted.
 */
export function topicRoutes(rawTopic: string, harvested: ReadonlyMap<string, readonly string[]>): Map<string, string[]> {
  const routes = new Map<string, Set<string>>();
  const add = (topic: string, project: string): void => {
    const s = routes.get(topic) ?? new Set<string>();
    s.add(project);
    routes.set(topic, s);
  };
  for (const [project, topics] of harvested) {
    add(projectTopic(rawTopic, project), project);
    for (const t of topics) add(t, project);
  }
  return new Map([...routes].map(([t, ps]) => [t, [...ps].sort()]));
}

/**
 * Starts one `ingestBatch` workflow per cut batch. Each batch's records are staged in PostgreSQL
 * first and the workflow gets only their coordinates (a claim check). Offsets are committed only
 * after Temporal acknowledged the start, and the workflow id is derived from the offsets, so a
 * restart that re-reads uncommitted records finds the workflow already started instead of doubling it.
 */
export async function startBridge(cfg: Config, client: Client, source: Pool | BridgeProjects, opts: BridgeTopics = {}): Promise<Bridge> {
  const projects = 'list' in source ? source : singleProject(source);
  const kafka = createKafka(cfg, 'beltline-bridge');
  const admin = kafka.admin();
  const harvested = opts.harvestedTopics ?? (async () => []);
  // Said once per topic, not at every poll.
  const warnedMissing = new Set<string>();
  // Projects whose topics this bridge made sure of.
  const topicsMade = new Set<string>([DEFAULT_PROJECT]);
  /**
   * Every project's raw topic (a new project's is created, so its first events are read at once)
   * and the topics harvesters read that exist (one that does not yet is skipped, not fatal), with
   * the projects each topic's records go to.
   */
  async function wanted(): Promise<{ topics: string[]; routes: Map<string, string[]> }> {
    const names = (await projects.list()).map((p) => p.name);
    const byProject = new Map(await Promise.all(names.map(async (p) => [p, [...new Set(await harvested(p))]] as const)));
    const routes = topicRoutes(cfg.BELTLINE_RAW_TOPIC, byProject);
    const raw = new Set(names.map((p) => projectTopic(cfg.BELTLINE_RAW_TOPIC, p)));
    const extra = [...routes.keys()].filter((t) => !raw.has(t));
    const fresh = names.filter((p) => !topicsMade.has(p));
    if (extra.length === 0 && fresh.length === 0) return { topics: [...routes.keys()].sort(), routes };
    await admin.connect();
    try {
      for (const p of fresh) {
        const made = await ensureProjectTopics(admin, cfg, p);
        if (made.length > 0) log.info({ project: p, topics: made }, "created a project's topics");
        topicsMade.add(p);
      }
      const existing = new Set(await admin.listTopics());
      for (const t of extra.filter((t) => !existing.has(t) && !warnedMissing.has(t))) {
        warnedMissing.add(t);
        log.warn({ topic: t }, 'a harvester reads a topic that does not exist (yet); not consuming it');
      }
      for (const t of extra) if (!existing.has(t)) routes.delete(t);
      return { topics: [...routes.keys()].sort(), routes };
    } finally {
      await admin.disconnect();
    }
  }
  let { topics, routes } = await wanted();
  const consumerConfig: ConsumerConfig = {
    groupId: cfg.BELTLINE_CONSUMER_GROUP,
    ...batchFetch(cfg),
    sessionTimeout: CONSUMER_SESSION_TIMEOUT_MS,
    heartbeatInterval: HEARTBEAT_MS,
    // After a retriable error kafkajs restarts the consumer itself; after any other, see consume().
    retry: { restartOnFailure: async () => true },
  };
  let consumer: Consumer = kafka.consumer(consumerConfig);
  let stopping = false;
  let crashes = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const inFlight = new InFlight(cfg.BATCH_MAX_IN_FLIGHT);
  const retry = batchRetry(cfg);

  /**
   * Frees the batch's slot when its workflow closed, however, or after BATCH_SLOT_TIMEOUT: a batch
   * still running then is retrying (a bug, a broken row, a long outage) or waiting for a worker.
   * It runs on (its offsets are committed, its records staged), but a poison batch must not hold a
   * slot through its whole retry policy while the batches behind it wait.
   */
  function track(workflowId: string, slot: Slot): void {
    const watching = new AbortController();
    slot.expireAfter(cfg.BATCH_SLOT_TIMEOUT, () => {
      slowBatches.inc();
      log.warn({ workflowId, afterMs: cfg.BATCH_SLOT_TIMEOUT }, 'a batch is still running (retrying, or waiting for a worker); it runs on, its slot goes to the next batch');
      // Its end is the worker's to report; a bridge that kept polling for it would hold a request per slow batch.
      watching.abort();
    });
    client
      .withAbortSignal(watching.signal, () => client.workflow.getHandle(workflowId).result())
      .catch(() => undefined)
      .finally(() => slot.release());
  }

  async function startWorkflow(project: string, ref: BatchRef, records: readonly BatchRecord[]): Promise<string> {
    const workflowId = batchWorkflowId(ref.topic, ref.partition, ref.firstOffset, ref.lastOffset, project);
    const input: IngestBatchInput = { ...ref, recordCount: records.length, retry, project };
    try {
      await client.workflow.start('ingestBatch', {
        taskQueue: cfg.BELTLINE_TASK_QUEUE,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SOURCE, value: ref.topic },
          { key: EVENT_TYPES, value: declaredEventTypes(ref.topic, records, projectTopic(cfg.BELTLINE_RAW_TOPIC, project)) },
          { key: PROJECT, value: project },
        ],
      });
      batchesStarted.inc({ topic: ref.topic });
      log.debug({ workflowId, project, records: records.length }, 'batch started');
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      log.info({ workflowId }, 'batch was already started; counting it as started');
    }
    return workflowId;
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const stillOurs = (): boolean => isRunning() && !isStale();
    const chunks = cutBatches(batch.messages, { maxEvents: cfg.BATCH_MAX_EVENTS, maxBytes: cfg.BATCH_MAX_BYTES });
    // Read when the batch arrives: a project created or deleted since the subscription counts.
    const owners = routes.get(batch.topic) ?? [];
    for (const chunk of chunks) {
      // Stopping (SIGTERM) or the partition lost: the chunks not started stay uncommitted, for
      // this group's next reader; the ones started were committed each in turn.
      if (!stillOurs()) return;
      const ref: BatchRef = { topic: batch.topic, partition: batch.partition, firstOffset: chunk[0].offset, lastOffset: chunk[chunk.length - 1].offset };
      const records = chunk.map((m) => ({ offset: m.offset, value: m.value?.toString('utf8') ?? '', timestamp: Number(m.timestamp) }));
      // One workflow per project the topic is for, each batch staged in its project's schema.
      for (const project of owners) {
        // Wait for a slot, staying a live group member meanwhile; a bridge that loses the partition
        // leaves the records uncommitted for their next owner.
        let slot: Slot | undefined;
        while (!(slot = inFlight.tryAcquire())) {
          if (!stillOurs()) return;
          await inFlight.changed(HEARTBEAT_MS);
          await heartbeat();
        }
        let workflowId: string | undefined;
        try {
          workflowId = await untilDone(() => stageAndStart(project, ref, records), heartbeat, stillOurs);
        } catch (err) {
          slot.release();
          throw err;
        }
        if (workflowId === undefined) {
          slot.release();
          continue;
        }
        track(workflowId, slot);
        if (crashAfterStart) process.kill(process.pid, 'SIGKILL');
      }
      resolveOffset(ref.lastOffset);
      // Through the batch's own commit, not consumer.commitOffsets: once stop() has begun (SIGTERM),
      // kafkajs drops the latter without a word, and a batch started just then was left uncommitted.
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(ref.lastOffset) + 1n).toString() }] }] });
      crashes = 0;
      await heartbeat();
    }
  }

  /**
   * Stages the batch in the project's schema and starts its workflow. Undefined when the project
   * was deleted meanwhile: its records have nowhere to go (its schema is gone), and are skipped.
   */
  async function stageAndStart(project: string, ref: BatchRef, records: readonly BatchRecord[]): Promise<string | undefined> {
    try {
      await stageBatch(projects.db(project), ref, records);
      return await startWorkflow(project, ref, records);
    } catch (err) {
      if (project !== DEFAULT_PROJECT && !(await projects.exists(project))) {
        log.info({ project, topic: ref.topic, partition: ref.partition, firstOffset: ref.firstOffset, lastOffset: ref.lastOffset }, 'project deleted: its records are skipped');
        return undefined;
      }
      throw err;
    }
  }

  /**
   * Runs `step` until it succeeds, heartbeating between tries: PostgreSQL or Temporal being away
   * for longer than the Kafka session must not cost the bridge its group membership.
   */
  async function untilDone<T>(step: () => Promise<T>, heartbeat: () => Promise<void>, stillOurs: () => boolean): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // Heartbeat while the step is under way: a Temporal start may hang on a dead server.
      const beating = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_MS);
      try {
        return await step();
      } catch (err) {
        if (!stillOurs()) throw err;
        log.warn({ err: (err as Error).message, attempt }, 'could not stage or start a batch; retrying');
        await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)));
        await heartbeat();
      } finally {
        clearInterval(beating);
      }
    }
  }

  /**
   * kafkajs restarts a crashed consumer by itself only after a retriable error. After any other
   * (a commit refused because the coordinator forgot this member, its session having expired
   * while the process was frozen, say) the consumer stays stopped for good while the process
   * lives on and its partitions go unread. Such a crash gets a new consumer, after a backoff.
   */
  async function consume(c: Consumer): Promise<void> {
    c.on(c.events.CRASH, ({ payload }) => {
      if (payload.restart || stopping || c !== consumer) return;
      log.error({ err: payload.error.message }, 'the Kafka consumer stopped for good; starting a new one');
      restartLater();
    });
    await c.connect();
    await c.subscribe({ topics, fromBeginning: true });
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: cfg.BELTLINE_RAW_PARTITIONS, eachBatch });
  }

  /** A new consumer in place of the current one, on the topics in force: how a subscription changes. */
  async function replaceConsumer(): Promise<void> {
    const old = consumer;
    consumer = kafka.consumer(consumerConfig);
    await old.disconnect().catch(() => undefined);
    await consume(consumer);
  }

  function restartLater(): void {
    const delayMs = Math.min(30_000, 1000 * 2 ** Math.min(crashes++, 5));
    restartTimer = setTimeout(() => {
      void (async () => {
        if (stopping) return;
        try {
          await replaceConsumer();
          log.info({ topics, group: cfg.BELTLINE_CONSUMER_GROUP }, 'bridge consuming again');
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'could not start a new Kafka consumer; trying again');
          restartLater();
        }
      })();
    }, delayMs);
  }

  await consume(consumer);
  log.info({ topics, group: cfg.BELTLINE_CONSUMER_GROUP, inFlight: inFlight.limit }, 'bridge consuming');

  // A harvester created, changed or deleted through the API may read another topic, and a project
  // created or deleted adds or removes its raw topic: a consumer cannot change its subscription,
  // so it is replaced (a rebalance; uncommitted records are read again and find their workflows
  // started). Topics that appear later are noticed by a slow poll.
  let refreshing = Promise.resolve();
  const refreshTopics = (): void => {
    refreshing = refreshing
      .then(async () => {
        if (stopping) return;
        const next = await wanted();
        // Routes change alone when a second project harvests a topic already consumed.
        routes = next.routes;
        if (next.topics.join('\n') === topics.join('\n')) return;
        topics = next.topics;
        log.info({ topics }, 'harvested topics changed (or projects did); consuming them');
        await replaceConsumer();
      })
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not refresh the harvested topics; trying again later');
      });
  };
  const unsubscribe = opts.definitions?.subscribe((e) => {
    if (e === 'reset' || e.kind === 'harvester' || e.kind === 'project') refreshTopics();
  });
  const topicPoll = setInterval(refreshTopics, TOPIC_POLL_MS);

  // Consumer lag for the metrics, read at scrape time through an admin client of its own.
  const lagAdmin = kafka.admin();
  let lagConnected: Promise<void> | undefined;
  const removeLag = addLagSource(async () => {
    lagConnected ??= lagAdmin.connect().catch((err: unknown) => {
      lagConnected = undefined;
      throw err;
    });
    await lagConnected;
    return { group: cfg.BELTLINE_CONSUMER_GROUP, partitions: await consumerGroupLag(lagAdmin, cfg.BELTLINE_CONSUMER_GROUP, topics) };
  });
  return {
    stop: async () => {
      stopping = true;
      clearTimeout(restartTimer);
      clearInterval(topicPoll);
      unsubscribe?.();
      await refreshing;
      removeLag();
      await consumer.disconnect();
      if (lagConnected) await lagAdmin.disconnect();
    },
  };
}
