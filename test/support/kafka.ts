import crypto from 'node:crypto';
import { loadConfig } from '../../src/config';
import { REAPER_COLLECTOR } from '../../src/expiry/reap';
import { createKafka } from '../../src/kafka/producer';

/** A fresh topic and consumer group, so a test sees only its own records. */
export async function freshTopic(prefix: string, partitions = 2): Promise<{ topic: string; group: string }> {
  const suffix = crypto.randomBytes(4).toString('hex');
  const topic = `${prefix}-${suffix}`;
  const admin = createKafka(loadConfig(), 'beltline-test').admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return { topic, group: `${topic}-bridge` };
}

/** The total number of records ever written to a topic (sum of its partitions' end offsets). */
export async function recordCount(topic: string): Promise<number> {
  const admin = createKafka(loadConfig(), 'beltline-test').admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Every record value of a (small) topic, read from the beginning by a throw-away group. */
export function readAll(topic: string, expected: number, timeoutMs = 30_000): Promise<string[]> {
  return consume(topic, undefined, (values) => values.length >= expected, timeoutMs);
}

/** A topic's end offsets now: pass them to readFrom later to read only what was written since. */
export async function endOffsets(topic: string): Promise<{ partition: number; offset: string }[]> {
  const admin = createKafka(loadConfig(), 'beltline-test').admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).map((o) => ({ partition: o.partition, offset: o.high }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The record values written to a (busy, shared) topic since `from`, read until `enough` says so
 * or the timeout: a read from the beginning of such a topic would take longer the older it is.
 */
export function readFrom(topic: string, from: { partition: number; offset: string }[], enough: (values: string[]) => boolean, timeoutMs = 30_000): Promise<string[]> {
  return consume(topic, from, enough, timeoutMs);
}

/** A record the TTL reaper wrote, not a test's. */
function reaped(value: string): boolean {
  // Not parsed: a test may have put bytes that are not JSON on the topic.
  return value.includes(`"collector":${JSON.stringify(REAPER_COLLECTOR)}`);
}

/**
 * The values written to a topic since `from` (endOffsets), as far as its end now, without the
 * reaper's expiry events. Every worker's sweeper reaps the overdue expirations of the shared schema
 * into its own raw topic (a deployment has one), so expirations that earlier tests left there
 * can land in a test's raw topic at any moment: a count of all its records is not the test's.
 */
export async function writtenSince(topic: string, from: { partition: number; offset: string }[]): Promise<string[]> {
  const total = (o: { offset: string }[]): number => o.reduce((n, p) => n + Number(p.offset), 0);
  const n = total(await endOffsets(topic)) - total(from);
  const values = n === 0 ? [] : await readFrom(topic, from, (v) => v.length >= n);
  return values.filter((v) => !reaped(v));
}

/** Reads a topic with a throw-away group, from the beginning or from offsets, until `enough` or the timeout. */
async function consume(topic: string, from: { partition: number; offset: string }[] | undefined, enough: (values: string[]) => boolean, timeoutMs: number): Promise<string[]> {
  const kafka = createKafka(loadConfig(), 'beltline-test');
  const consumer = kafka.consumer({ groupId: `reader-${crypto.randomBytes(4).toString('hex')}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: from === undefined });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value?.toString() ?? '') });
    for (const p of from ?? []) consumer.seek({ topic, partition: p.partition, offset: p.offset });
    const deadline = Date.now() + timeoutMs;
    while (!enough(values) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  } finally {
    await consumer.disconnect();
  }
  return values;
}
