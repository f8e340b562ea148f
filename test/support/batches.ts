import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';

export interface BatchCoverage {
  /** The statuses of the topic's batch workflows (found by BeltlineSource), e.g. ['COMPLETED']. */
  statuses: string[];
  /** Per partition, the offsets of records not in any completed batch. */
  uncovered: Record<number, number[]>;
}

/** Whether every record of a topic is in a batch whose workflow completed, from Temporal's visibility. */
export async function batchCoverage(topic: string): Promise<BatchCoverage> {
  const cfg = loadConfig();
  const admin = createKafka(cfg, 'beltline-test').admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic).finally(() => admin.disconnect());
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const statuses = new Set<string>();
    const covered = new Map<number, Set<number>>();
    for await (const wf of client.workflow.list({ query: `BeltlineSource = '${topic}'` })) {
      statuses.add(wf.status.name);
      if (wf.status.name !== 'COMPLETED') continue;
      const m = /-p(\d+)-o(\d+)-(\d+)$/.exec(wf.workflowId);
      if (!m) throw new Error(`not a batch id: ${wf.workflowId}`);
      const offsets = covered.get(Number(m[1])) ?? new Set<number>();
      for (let o = Number(m[2]); o <= Number(m[3]); o++) offsets.add(o);
      covered.set(Number(m[1]), offsets);
    }
    const uncovered: Record<number, number[]> = {};
    for (const e of ends) {
      uncovered[e.partition] = Array.from({ length: Number(e.high) }, (_, o) => o).filter((o) => !covered.get(e.partition)?.has(o));
    }
    return { statuses: [...statuses].sort(), uncovered };
  } finally {
    await connection.close();
  }
}
