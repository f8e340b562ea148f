import crypto from 'node:crypto';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/ingest/kafka';

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
