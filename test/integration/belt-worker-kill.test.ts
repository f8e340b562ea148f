import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { decodeTimeoutType } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { loadConfig, REPO_ROOT } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { heartbeatOptions } from '../../src/workers/heartbeat';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

/**
 * Guarantee 7, the belt worker's part: a `beltline start --role worker --belt NAME` process is
 * killed (-9) in the middle of a belt run, and the run is retried on another worker of the belt
 * because its heartbeats stopped, not after the activity's start-to-close timeout (5 minutes).
 * The assertion reads Temporal's history: the attempt that completed was started after a
 * HEARTBEAT timeout of the one before. Every event still counts exactly once.
 *
 * The batch workflows and their in-process steps run on a worker inside the test: every
 * `beltline start` worker without --belt polls each belt's queue too, and the belt run must land
 * on the belt worker that is killed.
 */
describe('a belt worker killed (-9) mid-run', () => {
  const USERS = 5;
  const PER_USER = 10;
  const cfg = loadConfig();
  const run = `bwkill-${Date.now().toString(36)}`;
  let pool: Pool;
  let native: NativeConnection;
  let connection: Connection;
  let main: Worker | undefined;
  let mainRun: Promise<void> | undefined;
  const procs: BeltlineProcess[] = [];

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    pool = createPool(cfg.databaseUrl, 4);
    native = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  });

  afterAll(async () => {
    main?.shutdown();
    await mainRun?.catch(() => undefined);
    for (const p of procs) await p.stop();
    await connection?.close();
    await native?.close();
    await pool?.end();
  }, 60_000);

  it('is retried on another worker after a heartbeat timeout, and applied once', async () => {
    const { topic, group } = await freshTopic('belt-worker-kill');
    const env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: run };

    // The belt worker that dies: after `passthrough` ran on its first events, before their outputs are stored.
    const doomed = await startBeltline({ roles: ['worker'], belt: 'passthrough', port: 18160, env: { ...env, BELTLINE_FAULT: 'belt-worker-crash-in-run' } });
    procs.push(doomed);
    const died = new Promise<void>((resolve) => doomed.child.once('exit', () => resolve()));
    const front = await startBeltline({ roles: ['collector', 'bridge'], port: 18161, env });
    procs.push(front);
    await ensureEventType(front.url, TEST_JSON_TYPE);
    main = await Worker.create({
      connection: native,
      namespace: cfg.TEMPORAL_NAMESPACE,
      taskQueue: run,
      workflowBundle: { codePath: path.join(REPO_ROOT, 'dist', 'workflow-bundle.js') },
      activities: createActivities(pool, { ...cfg, BELTLINE_RAW_TOPIC: topic, BELTLINE_TASK_QUEUE: run }),
      sinks: { batches: { completed: { fn: () => undefined }, failed: { fn: () => undefined } } },
      ...heartbeatOptions,
    });
    mainRun = main.run();

    const ids: string[] = [];
    for (let r = 0; r < (USERS * PER_USER) / 10; r++) {
      const events = Array.from({ length: 10 }, (_, i) => {
        const n = r * 10 + i;
        ids.push(`${run}-${n}`);
        // counter (in the step) counts `count`; passthrough (on its own queue) applies `queued`.
        return { eventId: `${run}-${n}`, correlationId: `${run}-user-${n % USERS}`, kind: 'tick', updates: [{ _operation: '_increment', _path: ['queued'], _value: { _v: 1 } }] };
      });
      const res = await fetch(`${front.url}/api/v1/events/test-json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
      expect(res.status).toBe(200);
    }
    await died;
    expect(doomed.child.signalCode).toBe('SIGKILL');

    const survivor = await startBeltline({ roles: ['worker'], belt: 'passthrough', port: 18162, env });
    procs.push(survivor);
    await waitFor(
      'every event applied by both belts',
      async () => {
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM belt_outputs WHERE event_id = ANY($1) AND belt IN ('counter', 'passthrough') AND applied", [ids]);
        return rows[0].n === 2 * ids.length ? true : undefined;
      },
      150_000,
    );
    const { rows } = await pool.query<{ id: string; count: number; queued: number }>(
      `SELECT id, (document->>'count')::int AS count, (document->>'queued')::int AS queued FROM profiles WHERE id LIKE $1 ORDER BY id`,
      [`${run}-user-%`],
    );
    expect(rows).toEqual(Array.from({ length: USERS }, (_, u) => ({ id: `${run}-user-${u}`, count: PER_USER, queued: PER_USER })));

    // Every runBelt attempt after the first, from the batches' histories: why the one before ended, who ran it.
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const retried: { attempt: number; timeout: string | undefined; identity: string }[] = [];
    for await (const wf of client.workflow.list({ query: `BeltlineSource = '${topic}'` })) {
      const events = (await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()).events ?? [];
      const runBelt = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBelt').map((e) => String(e.eventId)));
      for (const e of events) {
        const started = e.activityTaskStartedEventAttributes;
        if (!started || !runBelt.has(String(started.scheduledEventId))) continue;
        if ((started.attempt ?? 1) > 1) retried.push({ attempt: started.attempt ?? 1, timeout: decodeTimeoutType(started.lastFailure?.timeoutFailureInfo?.timeoutType), identity: started.identity ?? '' });
      }
    }
    // The one run the dead worker held (scale 1: one at a time) was retried once, after a heartbeat timeout, by the survivor.
    expect(retried).toEqual([{ attempt: 2, timeout: 'HEARTBEAT', identity: expect.stringMatching(new RegExp(`^${survivor.child.pid}@`)) }]);
  }, 240_000);
});
