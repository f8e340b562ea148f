/**
 * kafkajs 2.2.4 sorts a send's messages into partitions with a reduce that copies the partition's
 * array (and a one-key object) for every message: quadratic in the messages of a partition. A
 * worker's send carries a batch's change stream (one message per profile changed, often a
 * thousand in one produce request of MAX_REQUEST_BYTES) and its enriched events, so the copies
 * took 4 % of a worker's CPU at full speed (592 ms of 15.3 s in its profile; 2.2-2.7 µs a message
 * at 350 a request, 7-8 µs at 1,000). The fix, tulios/kafkajs#1576, is an open pull request that
 * no release carries.
 *
 * kafkajs's sendMessages takes the function when it loads, so the linear one below is put in
 * node's module cache under the original's file name before kafkajs is first required. That is
 * why src/kafka/kafkajs.ts imports this module first, and why the lint allows kafkajs's values
 * only through that module. Only for the version it was written against; a kafkajs already loaded
 * is left as it is.
 */
import Module, { createRequire } from 'node:module';
import { PATCHABLE } from './version';

/** The arguments kafkajs passes (src/producer/sendMessages.js). */
export interface GroupingArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/** kafkajs's groupMessagesPerPartition, in one pass: the same partitions, the same order, the partitioner called once per message in order. */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupingArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

function seed(): boolean {
  if (!PATCHABLE) return false;
  const require = createRequire(__filename);
  const file = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
  const cached = require.cache[file];
  if (cached) return cached.exports === groupMessagesPerPartition;
  // Too late: kafkajs is loaded and holds the original.
  if (require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')]) return false;
  const m = new Module(file);
  m.filename = file;
  m.exports = groupMessagesPerPartition;
  m.loaded = true;
  require.cache[file] = m;
  // Jest's module registry ignores writes to require.cache: there the original stays.
  return require.cache[file]?.exports === groupMessagesPerPartition;
}

/** Whether kafkajs groups with the linear function: decided once, when this module loads. */
export const linearGrouping: boolean = seed();
