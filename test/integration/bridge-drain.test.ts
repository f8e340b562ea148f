import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

/**
 * Graceful shutdown, the bridge's part (issue 16): SIGTERM lands while records keep arriving. The
 * bridge exits 0 having committed exactly what it handed to Temporal: per partition, the committed
 * offset is one past the last record of the batches it started — nothing started is left to be
 * read again, nothing committed was left unstarted. A new bridge then takes the rest, and every
 * event counts once.
 */
const PORT = 18436;
const REQUESTS = 60;
const PER_REQUEST = 10;
const USERS = 6;

describe('a bridge stopped with SIGTERM while records arrive', () => {
  const cfg = loadConfig();
  const run = `bdrain-${Date.now().toString(36)}`;
  let pool: Pool;
  const procs: BeltlineProcess[] = [];
  let connection: Connection | undefined;

  beforeAll(() => {
    pool = testPool();
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await connection?.close();
    await pool.end();
  });

  it('commits exactly the batches it started, exits 0, and a new bridge applies the rest once', async () => {
    const { topic, group } = await freshTopic('bridge-drain', 2);
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: run };
    const [collector, bridge, worker] = await Promise.all([
      startBeltline({ roles: ['collector'], port: PORT, env }),
      startBeltline({ roles: ['bridge'], port: PORT + 1, env }),
      startBeltline({ roles: ['worker'], port: PORT + 2, env }),
    ]);
    procs.push(collector, worker);
    await ensureEventType(collector.url, TEST_JSON_TYPE);

    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const exit = new Promise<number | null>((resolve) => bridge.child.once('exit', (code) => resolve(code)));
    const ids: string[] = [];
    for (let r = 0; r < REQUESTS; r++) {
      const events = Array.from({ length: PER_REQUEST }, (_, i) => {
        const n = r * PER_REQUEST + i;
        ids.push(`${run}-${n}`);
        return { eventId: `${run}-${n}`, correlationId: `${run}-user-${n % USERS}`, kind: 'tick' };
      });
      const res = await fetch(`${collector.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
      if (r === REQUESTS / 3) {
        // Mid-stream, once it is at work (it has joined its group and started a batch).
        await waitFor('a first batch started', async () => ((await client.workflow.count(`BeltlineSource = '${topic}'`)).count > 0 ? true : undefined));
        bridge.child.kill('SIGTERM');
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(await exit).toBe(0);
    expect(bridge.output()).toContain('bridge stopped consuming');

    // No bridge runs now: the batches Temporal knows of are all the stopped one started. Visibility
    // trails the starts, so wait for it to agree with the commits (a gap either way never closes).
    const admin = createKafka(cfg, 'beltline-test').admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      const commits = Object.fromEntries(committed.partitions.map((p) => [p.partition, Number(p.offset)]));
      let seen: Record<number, number> = {};
      const started = await waitFor(
        'the started batches to match the commits',
        async () => {
          const next: Record<number, number> = { 0: -1, 1: -1 };
          for await (const wf of client.workflow.list({ query: `BeltlineSource = '${topic}'` })) {
            const m = /-p(\d+)-o(\d+)-(\d+)$/.exec(wf.workflowId);
            if (!m) throw new Error(`not a batch id: ${wf.workflowId}`);
            next[Number(m[1])] = Math.max(next[Number(m[1])], Number(m[3]) + 1);
          }
          seen = next;
          // -1 (nothing started on a partition) matches kafkajs' -1 (nothing committed).
          return next[0] === commits[0] && next[1] === commits[1] ? next : undefined;
        },
        30_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; committed ${JSON.stringify(commits)}, started up to ${JSON.stringify(seen)}\n${bridge.output().split('\n').filter((l) => !l.includes('"level":30') || /stop|commit|batch/.test(l)).slice(-40).join('\n')}`);
      });
      expect(Object.values(started).reduce((n, o) => n + Math.max(0, o), 0)).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }

    // A new bridge of the same group takes up where the commits say; every event counts once.
    procs.push(await startBeltline({ roles: ['bridge'], port: PORT + 1, env }));
    await waitFor(
      'every event applied',
      async () => {
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt = 'counter' AND applied", [ids]);
        return rows[0].n === ids.length ? true : undefined;
      },
      120_000,
    );
    const { rows } = await pool.query<{ id: string; count: number }>(`SELECT id, (document->>'count')::int AS count FROM profiles WHERE id LIKE $1 ORDER BY id`, [`${run}-user-%`]);
    expect(rows).toEqual(Array.from({ length: USERS }, (_, u) => ({ id: `${run}-user-${u}`, count: (REQUESTS * PER_REQUEST) / USERS })));
  }, 240_000);
});
