import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Config } from '../config';
import { logger } from '../log';
import { addLagSource, batchesStarted } from '../metrics';
import { EVENT_TYPES, SOURCE } from '../workflows/search-attributes';
import { cutBatches } from './batcher';
import { createKafka } from './kafka';
import { consumerGroupLag } from './lag';
import { batchRetry, batchWorkflowId, type IngestBatchInput } from './record';

const log = logger('bridge');

export interface Bridge {
  stop(): Promise<void>;
}

/** Test-only fault injection: die like a `kill -9` right after a start was acknowledged. */
const crashAfterStart = process.env.BELTLINE_FAULT === 'bridge-crash-after-start';

/**
 * The event types a batch's records declare (a JSON record's type, `snowplow` for tracker
 * events), known before any activity runs: a batch that fails at once is still findable by type
 * (`BeltlineEventTypes`). prepareBatch replaces them with the types of the events it stored.
 */
export function declaredEventTypes(input: IngestBatchInput, rawTopic: string): string[] {
  if (input.topic !== rawTopic) return [];
  const types = new Set<string>();
  for (const r of input.records) {
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

/**
 * Starts one `ingestBatch` workflow per cut batch. Offsets are committed only after Temporal
 * acknowledged the start, and the workflow id is derived from the offsets, so a restart that
 * re-reads uncommitted records finds the workflow already started instead of doubling it.
 */
export async function startBridge(cfg: Config, client: Client, harvestedTopics: string[] = []): Promise<Bridge> {
  const kafka = createKafka(cfg, 'beltline-bridge');
  // Harvesters may read other topics; one that does not exist (yet) is skipped, not fatal.
  const admin = kafka.admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  await admin.disconnect();
  const extra = [...new Set(harvestedTopics)].filter((t) => t !== cfg.BELTLINE_RAW_TOPIC);
  for (const t of extra.filter((t) => !existing.has(t))) log.warn({ topic: t }, 'a harvester reads a topic that does not exist; not consuming it');
  const topics = [cfg.BELTLINE_RAW_TOPIC, ...extra.filter((t) => existing.has(t))];
  const consumer: Consumer = kafka.consumer({
    groupId: cfg.BELTLINE_CONSUMER_GROUP,
    // Linger: the broker holds a fetch until it has half a batch of bytes or the linger passed.
    maxWaitTimeInMs: cfg.BATCH_LINGER_MS,
    minBytes: Math.floor(cfg.BATCH_MAX_BYTES / 2),
    maxBytesPerPartition: cfg.BATCH_MAX_BYTES,
    // A bridge that died (kill -9) holds its partitions until the session times out: keep it short.
    sessionTimeout: 10000,
    heartbeatInterval: 2000,
  });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });

  async function startWorkflow(input: IngestBatchInput): Promise<void> {
    const workflowId = batchWorkflowId(input.topic, input.partition, input.firstOffset, input.lastOffset);
    try {
      await client.workflow.start('ingestBatch', {
        taskQueue: cfg.BELTLINE_TASK_QUEUE,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SOURCE, value: input.topic },
          { key: EVENT_TYPES, value: declaredEventTypes(input, cfg.BELTLINE_RAW_TOPIC) },
        ],
      });
      batchesStarted.inc({ topic: input.topic });
      log.debug({ workflowId, records: input.records.length }, 'batch started');
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      log.info({ workflowId }, 'batch was already started; counting it as started');
    }
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const chunks = cutBatches(batch.messages, { maxEvents: cfg.BATCH_MAX_EVENTS, maxBytes: cfg.BATCH_MAX_BYTES });
    for (const chunk of chunks) {
      if (!isRunning() || isStale()) return;
      const first = chunk[0].offset;
      const last = chunk[chunk.length - 1].offset;
      await startWorkflow({
        topic: batch.topic,
        partition: batch.partition,
        firstOffset: first,
        lastOffset: last,
        records: chunk.map((m) => ({ offset: m.offset, value: m.value?.toString('utf8') ?? '', timestamp: Number(m.timestamp) })),
        retry: batchRetry(cfg),
      });
      if (crashAfterStart) process.kill(process.pid, 'SIGKILL');
      resolveOffset(last);
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
    }
  }

  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 2, eachBatch });
  log.info({ topics, group: cfg.BELTLINE_CONSUMER_GROUP }, 'bridge consuming');

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
      removeLag();
      await consumer.disconnect();
      if (lagConnected) await lagAdmin.disconnect();
    },
  };
}
