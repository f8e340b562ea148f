import crypto from 'node:crypto';
import { Partitioners, type PartitionerArgs, type PartitionMetadata } from 'kafkajs';
import { FastDefaultPartitioner, murmur2 } from '../../src/kafka/partitioner';

// kafkajs's own hash, the reference: a record must land where kafkajs (and the Java client) put it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number;

describe('murmur2', () => {
  it("equals kafkajs's on keys of every length mod 4, ASCII and not", () => {
    const keys: Buffer[] = [Buffer.alloc(0), Buffer.from('a'), Buffer.from('ab'), Buffer.from('abc'), Buffer.from('abcd'), Buffer.from('user-42'), Buffer.from('Zoë 🚀 ∑')];
    for (let i = 0; i < 2000; i++) keys.push(crypto.randomBytes(i % 67));
    for (let i = 0; i < 200; i++) keys.push(Buffer.from(crypto.randomUUID()));
    for (const key of keys) expect([key.toString('hex'), murmur2(key)]).toEqual([key.toString('hex'), kafkajsMurmur2(key)]);
  });

  it('matches the Java client on its published vectors', () => {
    // From Kafka's UtilsTest.testMurmur2.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
  });
});

describe('FastDefaultPartitioner', () => {
  const partitions = (n: number, leaderless: number[] = []): PartitionMetadata[] =>
    Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: leaderless.includes(partitionId) ? -1 : 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  const args = (message: PartitionerArgs['message'], n: number, leaderless: number[] = []): PartitionerArgs => ({ topic: 't', partitionMetadata: partitions(n, leaderless), message });

  it("puts keyed records where kafkajs's DefaultPartitioner does, string and Buffer keys", () => {
    const fast = FastDefaultPartitioner();
    const reference = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 1000; i++) {
      const key = i % 2 === 0 ? `user-${i}-${crypto.randomUUID()}` : crypto.randomBytes(1 + (i % 40));
      for (const n of [1, 3, 4, 12]) expect(fast(args({ key, value: 'v' }, n))).toBe(reference(args({ key, value: 'v' }, n)));
    }
  });

  it('keeps an explicit partition, and spreads keyless records over partitions with a leader', () => {
    const fast = FastDefaultPartitioner();
    expect(fast(args({ key: 'k', partition: 2, value: 'v' }, 4))).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 40; i++) seen.add(fast(args({ value: 'v' }, 4, [1])));
    expect([...seen].sort()).toEqual([0, 2, 3]);
  });
});
