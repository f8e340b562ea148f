import crypto from 'node:crypto';
import type { ICustomPartitioner, PartitionerArgs } from 'kafkajs';

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`) in 32-bit integer arithmetic. kafkajs's own
 * does every step with a 64-bit Long object, and the worker hashes one key per event it publishes
 * (enriched topics, change stream): in the end-to-end bench's CPU profile it took more of the
 * worker than the profile store. The low 32 bits of a 64-bit product depend only on the low 32
 * bits of its operands, so Math.imul gives kafkajs's result bit for bit (the unit test compares
 * them on many keys).
 */
export function murmur2(key: Buffer): number {
  const m = 0x5bd1e995;
  const length = key.length;
  let h = 0x9747b28c ^ length;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = key[i4] | (key[i4 + 1] << 8) | (key[i4 + 2] << 16) | (key[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= key[tail + 2] << 16;
    if (rest >= 2) h ^= key[tail + 1] << 8;
    h ^= key[tail];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * kafkajs's DefaultPartitioner (Java-compatible: a keyed record lands where the Java client would
 * put it) with the fast hash, and without building the list of available partitions for keyed
 * records. An explicit partition wins; no key: round robin over the partitions with a leader.
 */
export const FastDefaultPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  const next = (topic: string): number => {
    const n = (counters.get(topic) ?? crypto.randomBytes(4).readUInt32BE(0)) + 1;
    counters.set(topic, n);
    return n & 0x7fffffff;
  };
  return ({ topic, partitionMetadata, message }: PartitionerArgs): number => {
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined) {
      const key = Buffer.isBuffer(message.key) ? message.key : Buffer.from(String(message.key));
      return (murmur2(key) & 0x7fffffff) % partitionMetadata.length;
    }
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0 ? available[next(topic) % available.length].partitionId : next(topic) % partitionMetadata.length;
  };
};
