import crypto from 'node:crypto';
import { groupMessagesPerPartition, type GroupingArgs } from '../../src/kafka/grouping-fix';
import { FastDefaultPartitioner } from '../../src/kafka/partitioner';

type Message = { key: string | null; value: string };
// The function it replaces, the reference (jest loads kafkajs's own file: its registry ignores require.cache).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsGrouping = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: GroupingArgs<Message>) => Record<number, Message[]>;

describe('groupMessagesPerPartition', () => {
  const metadata = (n: number) => Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));

  it("groups as kafkajs's does: the same partitions, messages in order, the partitioner called once per message in order", () => {
    const messages: Message[] = Array.from({ length: 2000 }, (_, i) => ({ key: i % 7 === 0 ? null : `user-${i % 300}-${crypto.randomUUID().slice(0, i % 9)}`, value: `v${i}` }));
    for (const n of [1, 2, 5, 12]) {
      const calls: { ours: Message[]; theirs: Message[] } = { ours: [], theirs: [] };
      // Keyless messages go round-robin: the partitioner has state, so the order of calls matters.
      const recording = (into: Message[]) => {
        const byKey = FastDefaultPartitioner();
        let next = 0;
        return (args: { topic: string; partitionMetadata: readonly unknown[]; message: Message }) => {
          into.push(args.message);
          return args.message.key === null ? next++ % n : byKey(args as Parameters<typeof byKey>[0]);
        };
      };
      const ours = groupMessagesPerPartition({ topic: 't', partitionMetadata: metadata(n), messages, partitioner: recording(calls.ours) });
      const theirs = kafkajsGrouping({ topic: 't', partitionMetadata: metadata(n), messages, partitioner: recording(calls.theirs) });
      expect(ours).toEqual(theirs);
      expect(Object.keys(ours).length).toBe(n);
      expect(calls.ours).toEqual(messages);
      expect(calls.theirs).toEqual(messages);
    }
  });

  it('gives nothing and asks no partition without partition metadata', () => {
    const partitioner = jest.fn(() => 0);
    expect(groupMessagesPerPartition({ topic: 't', partitionMetadata: [], messages: [{ key: 'k', value: 'v' }], partitioner })).toEqual({});
    expect(partitioner).not.toHaveBeenCalled();
  });
});
