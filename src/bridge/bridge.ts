import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { DefinitionEvents } from '../db/definitions-feed';
import type { Consumer, ConsumerConfig, EachBatchPayload } from 'kafkajs';
import type { Pool } from 'pg';
import { stageBatch, type BatchRef } from '../batches/staging';
import type { Config } from '../config';
import { logger } from '../log';
import { addLagSource, batchesStarted } from '../metrics';
import { EVENT_TYPES, SOURCE } from '../workflows/search-attributes';
import { cutBatches } from './batcher';
import { InFlight } from './in-flight';
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
  /** The Kafka topics harvesters read, besides the raw topic; asked again when harvesters change. */
  harvestedTopics?: () => Promise<string[]>;
  /** Harvester changes, to consume a new harvester's topic at once. */
  definitions?: DefinitionEvents;
}

/**
 * Starts one `ingestBatch` workflow per cut batch. Each batch's records are staged in PostgreSQL
 * first and the workflow gets only their coordinates (a claim check). Offsets are committed only
 * after Temporal acknowledged the start, and the workflow id is derived from the offsets, so a
 * restart that re-reads uncommitted records finds the workflow already started instead of doubling it.
 */
export async function startBridge(cfg: Config, client: Client, pool: Pool, opts: BridgeTopics = {}): Promise<Bridge> {
  const kafka = createKafka(cfg, 'beltline-bridge');
  const admin = kafka.admin();
  const harvested = opts.harvestedTopics ?? (async () => []);
  /** The raw topic, and the topics harvesters read that exist (one that does not yet is skipped, not fatal). */
  // Said once per topic, not at every poll.
  const warnedMissing = new Set<string>();
  async function wantedTopics(): Promise<string[]> {
    const extra = [...new Set(await harvested())].filter((t) => t !== cfg.BELTLINE_RAW_TOPIC).sort();
    if (extra.length === 0) return [cfg.BELTLINE_RAW_TOPIC];
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      for (const t of extra.filter((t) => !existing.has(t) && !warnedMissing.has(t))) {
        warnedMissing.add(t);
        log.warn({ topic: t }, 'a harvester reads a topic that does not exist (yet); not consuming it');
      }
      return [cfg.BELTLINE_RAW_TOPIC, ...extra.filter((t) => existing.has(t))];
    } finally {
      await admin.disconnect();
    }
  }
  let topics = await wantedTopics();
  const consumerConfig: ConsumerConfig = {
    groupId: cfg.BELTLINE_CONSUMER_GROUP,
    // Linger: the broker holds a fetch until it has half a batch of bytes or the linger passed.
    // Under backlog a fetch comes back at once and full; under light load after the linger.
    maxWaitTimeInMs: cfg.BATCH_LINGER_MS,
    minBytes: Math.floor(cfg.BATCH_MAX_BYTES / 2),
    maxBytesPerPartition: cfg.BATCH_MAX_BYTES,
    maxBytes: cfg.BATCH_MAX_BYTES * cfg.BELTLINE_RAW_PARTITIONS,
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

  /** Settles when the batch's workflow closed, however; frees its slot then. */
  function track(workflowId: string): void {
    client.workflow
      .getHandle(workflowId)
      .result()
      .catch(() => undefined)
      .finally(() => inFlight.release());
  }

  async function startWorkflow(ref: BatchRef, records: readonly BatchRecord[]): Promise<string> {
    const workflowId = batchWorkflowId(ref.topic, ref.partition, ref.firstOffset, ref.lastOffset);
    const input: IngestBatchInput = { ...ref, recordCount: records.length, retry };
    try {
      await client.workflow.start('ingestBatch', {
        taskQueue: cfg.BELTLINE_TASK_QUEUE,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SOURCE, value: ref.topic },
          { key: EVENT_TYPES, value: declaredEventTypes(ref.topic, records, cfg.BELTLINE_RAW_TOPIC) },
        ],
      });
      batchesStarted.inc({ topic: ref.topic });
      log.debug({ workflowId, records: records.length }, 'batch started');
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      log.info({ workflowId }, 'batch was already started; counting it as started');
    }
    return workflowId;
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const stillOurs = (): boolean => isRunning() && !isStale();
    const chunks = cutBatches(batch.messages, { maxEvents: cfg.BATCH_MAX_EVENTS, maxBytes: cfg.BATCH_MAX_BYTES });
    for (const chunk of chunks) {
      // Wait for a slot, staying a live group member meanwhile; a bridge that loses the partition
      // leaves the records uncommitted for their next owner.
      while (!inFlight.tryAcquire()) {
        if (!stillOurs()) return;
        await inFlight.changed(HEARTBEAT_MS);
        await heartbeat();
      }
      const ref: BatchRef = { topic: batch.topic, partition: batch.partition, firstOffset: chunk[0].offset, lastOffset: chunk[chunk.length - 1].offset };
      const records = chunk.map((m) => ({ offset: m.offset, value: m.value?.toString('utf8') ?? '', timestamp: Number(m.timestamp) }));
      let workflowId: string;
      try {
        workflowId = await untilDone(() => stageBatch(pool, ref, records).then(() => startWorkflow(ref, records)), heartbeat, stillOurs);
      } catch (err) {
        inFlight.release();
        throw err;
      }
      track(workflowId);
      if (crashAfterStart) process.kill(process.pid, 'SIGKILL');
      resolveOffset(ref.lastOffset);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(ref.lastOffset) + 1n).toString() }]);
      crashes = 0;
      await heartbeat();
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

  // A harvester created, changed or deleted through the API may read another topic: a consumer
  // cannot change its subscription, so it is replaced (a rebalance; uncommitted records are read
  // again and find their workflows started). Topics that appear later are noticed by a slow poll.
  let refreshing = Promise.resolve();
  const refreshTopics = (): void => {
    refreshing = refreshing
      .then(async () => {
        if (stopping) return;
        const next = await wantedTopics();
        if (next.join('\n') === topics.join('\n')) return;
        topics = next;
        log.info({ topics }, 'harvested topics changed; consuming them');
        await replaceConsumer();
      })
      .catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'could not refresh the harvested topics; trying again later');
      });
  };
  const unsubscribe = opts.definitions?.subscribe((e) => {
    if (e === 'reset' || e.kind === 'harvester') refreshTopics();
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
