import type { Admin } from 'kafkajs';
import type { PartitionLag } from '../metrics';

/**
 * How far a consumer group is behind, per partition: the end offset minus the committed one (or
 * minus the partition's start when the group has committed nothing: it reads from the beginning).
 */
export async function consumerGroupLag(admin: Admin, groupId: string, topics: string[]): Promise<PartitionLag[]> {
  const committed = await admin.fetchOffsets({ groupId, topics });
  const out: PartitionLag[] = [];
  for (const t of committed) {
    const ends = await admin.fetchTopicOffsets(t.topic);
    for (const end of ends) {
      const c = Number(t.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
      const high = Number(end.high);
      const from = c >= 0 ? c : Number(end.low);
      out.push({ topic: t.topic, partition: end.partition, committed: c, high, lag: Math.max(0, high - from) });
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
