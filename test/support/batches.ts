import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import type { Pool } from 'pg';
import { createKafka } from '../../src/kafka/producer';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, waitFor, type BeltlineProcess } from './beltline';
import { freshTopic } from './kafka';

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

/**
 * The batch coverage once no batch of the topic is still running: events are applied inside a
 * batch's step, before its workflow completes, and the visibility store lags the close.
 */
export async function closedBatchCoverage(topic: string): Promise<BatchCoverage> {
  return waitFor('every batch closed', async () => {
    const c = await batchCoverage(topic);
    return c.statuses.includes('RUNNING') ? undefined : c;
  });
}

/** beltline as collector+worker and a bridge of its own, on a fresh topic, with a counting sender. */
export interface SplitPipeline {
  topic: string;
  front: BeltlineProcess;
  bridge: BeltlineProcess;
  /** Every event id accepted so far. */
  ids: string[];
  /** Posts five JSON events of one profile; expects 200. */
  send(tag: string): Promise<void>;
  /** How many of the accepted events the counting belt applied. */
  applied(): Promise<number>;
}

export async function startSplitPipeline(opts: { run: string; topicPrefix: string; ports: [number, number]; pool: Pool; procs: BeltlineProcess[] }): Promise<SplitPipeline> {
  const { run, pool } = opts;
  const { topic, group } = await freshTopic(opts.topicPrefix, 2);
  const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: run };
  const front = await startBeltline({ roles: ['collector', 'worker'], port: opts.ports[0], env });
  opts.procs.push(front);
  await ensureEventType(front.url, TEST_JSON_TYPE);
  const bridge = await startBeltline({ roles: ['bridge'], port: opts.ports[1], env });
  opts.procs.push(bridge);
  const ids: string[] = [];
  return {
    topic,
    front,
    bridge,
    ids,
    async send(tag) {
      const events = Array.from({ length: 5 }, (_, i) => ({ eventId: `${run}-${tag}-${i}`, correlationId: `${run}-user`, kind: 'tick' }));
      const res = await fetch(`${front.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
      ids.push(...events.map((e) => e.eventId));
    },
    async applied() {
      return (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt = 'counter' AND applied", [ids])).rows[0].n;
    },
  };
}
