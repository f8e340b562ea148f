import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { parseBeltBody, beltTaskQueue } from '../../src/belts/definition';
import { putBelt } from '../../src/belts/registry';
import type { JsonRecord } from '../../src/batches/record';
import { batchWorkflowId } from '../../src/batches/record';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { parseEventTypeBody } from '../../src/eventtypes/definition';
import { createEventType } from '../../src/eventtypes/store';
import { parseHarvesterBody } from '../../src/harvesters/definition';
import { createHarvester } from '../../src/harvesters/store';
import { createKafka } from '../../src/kafka/producer';
import { DEFAULT_PROJECT, projectTopic } from '../../src/projects/names';
import { Projects } from '../../src/projects/service';
import { getHistory, getProfile } from '../../src/profiles/store';
import { connectClient } from '../../src/temporal/client';
import { PROJECT } from '../../src/workflows/search-attributes';
import { startBeltline, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

/**
 * Issue 14: each project is a namespace end to end. Three projects (default and two new ones)
 * define the same event type and belt names doing different things, and share a profile id;
 * events produced to each project's raw topic (as the collector writes them) land in that
 * project's schema alone, its belts see its profiles alone, and its workflows are its own.
 */
describe('projects through the pipeline', () => {
  const s = crypto.randomBytes(3).toString('hex');
  const A = `pa${s}`;
  const B = `pb${s}`;
  const TYPE = 'pp-event';
  const BELT = 'pp-belt';
  const USER = 'shared-user';
  const queue = `pp-${s}`;
  let projects: Projects;
  let instance: Pool;
  let client: Client;
  let beltline: BeltlineProcess | undefined;
  let rawBase: string;
  let shared: string;

  /** A belt per project: writes `<tag>_v` (with history) and what it saw of the profile's `<tag>_v` before. */
  function belt(tag: string, scale?: number): ReturnType<typeof parseBeltBody> {
    return parseBeltBody({
      name: BELT,
      eventTypes: [TYPE],
      ...(scale ? { scale } : {}),
      extractorFn: `function execute(headers, payload, profile) {
        const id = headers['grnry-correlation-id'];
        const before = profile && profile['${tag}_v'] !== undefined ? JSON.stringify(profile['${tag}_v']) : 'none';
        return [
          { _schema: 'update_1', _operation: '_set_with_history', _id: id, _path: ['${tag}_v'], _value: { _v: '${tag}:' + payload.v } },
          Update(id, ['${tag}_seen', String(payload.v)], before),
        ];
      }`,
    });
  }

  /** Writes what the collector writes to a raw topic (a JsonRecord), or `plain` to a harvested one. */
  async function produce(topic: string, events: { eventId: string; user: string; v: number }[], plain = false): Promise<void> {
    const record: JsonRecord = { kind: 'json', collector: 'beltline-test', timestamp: Date.now(), eventType: TYPE, events };
    const producer = createKafka(loadConfig(), 'beltline-test').producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: plain ? events.map((e) => ({ key: USER, value: JSON.stringify(e) })) : [{ key: USER, value: JSON.stringify(record) }] });
    } finally {
      await producer.disconnect();
    }
  }

  async function eventIds(project: string): Promise<string[]> {
    const { rows } = await projects.db(project).query<{ event_id: string }>('SELECT event_id FROM events ORDER BY event_id');
    return rows.map((r) => r.event_id);
  }

  beforeAll(async () => {
    const cfg = loadConfig();
    instance = createPool(cfg.databaseUrl, 4);
    projects = new Projects(instance, cfg.databaseUrl, 2);
    for (const p of [A, B]) expect(await projects.create({ name: p, displayName: `Pipeline ${p}` })).toBeDefined();
    ({ topic: rawBase } = await freshTopic('pp-raw', 2));
    ({ topic: shared } = await freshTopic('pp-shared', 1));
    const type = parseEventTypeBody({ name: TYPE, eventIdExpression: '$.eventId', correlationIdExpression: '$.user', timestampExpression: '#nowMillis()' });
    for (const p of [DEFAULT_PROJECT, A, B]) await createEventType(projects.db(p), p, type);
    // Same names, different things: the default project's belt runs inside batches, A's and B's on queues of their own.
    await putBelt(projects.db(DEFAULT_PROJECT), belt('d'), 'api');
    await putBelt(projects.db(A), belt('a', 1), 'api');
    await putBelt(projects.db(B), belt('b', 1), 'api');
    // One topic harvested by both new projects: each gets a batch of its own.
    for (const p of [A, B]) {
      await createHarvester(
        projects.db(p),
        p,
        parseHarvesterBody({ name: 'pp-shared', displayName: 'shared', sourceType: { name: 'kafka', topic: shared }, transform: { script: 'return event;' }, eventType: { name: TYPE } }),
      );
    }
    client = await connectClient(cfg);
    beltline = await startBeltline({
      roles: ['bridge', 'worker'],
      port: 18197,
      env: { BELTLINE_RAW_TOPIC: rawBase, BELTLINE_CONSUMER_GROUP: `${rawBase}-bridge`, BELTLINE_TASK_QUEUE: queue },
    });
  });

  afterAll(async () => {
    await beltline?.stop();
    // Later tests' workers and bridges would go through these projects too.
    for (const p of [A, B]) await projects?.drop(p).catch(() => undefined);
    await client?.connection.close();
    await projects?.end();
    await instance?.end();
  });

  it('keeps each project\'s events, profiles and history in its own schema, and its belts on its own profiles', async () => {
    const ev = (p: string, n: number): { eventId: string; user: string; v: number } => ({ eventId: `${p}-${n}-${s}`, user: USER, v: n });
    await produce(projectTopic(rawBase, DEFAULT_PROJECT), [ev('d', 1)]);
    await produce(projectTopic(rawBase, A), [ev('a', 1)]);
    await produce(projectTopic(rawBase, B), [ev('b', 1)]);
    for (const [p, tag] of [[DEFAULT_PROJECT, 'd'], [A, 'a'], [B, 'b']] as const) {
      await waitFor(`${p}'s first event applied`, async () => ((await getProfile(projects.db(p), USER))?.document[`${tag}_seen`] ? true : undefined));
    }
    // Second events: each belt sees its own project's value of the shared profile id.
    await produce(projectTopic(rawBase, A), [ev('a', 2)]);
    await produce(projectTopic(rawBase, B), [ev('b', 2)]);
    const seen = async (p: string, tag: string): Promise<Record<string, unknown>> =>
      waitFor(`${p}'s second event applied`, async () => {
        const doc = (await getProfile(projects.db(p), USER))?.document;
        const s2 = doc?.[`${tag}_seen`] as Record<string, unknown> | undefined;
        return s2?.['2'] !== undefined ? doc : undefined;
      });
    const docA = await seen(A, 'a');
    const docB = await seen(B, 'b');
    expect(JSON.stringify((docA.a_seen as Record<string, unknown>)['2'])).toContain('a:1');
    expect(JSON.stringify((docB.b_seen as Record<string, unknown>)['2'])).toContain('b:1');
    // Nothing of another project's belt in a profile.
    expect(Object.keys(docA).sort()).toEqual(['a_seen', 'a_v']);
    expect(Object.keys(docB).sort()).toEqual(['b_seen', 'b_v']);
    const docD = (await getProfile(projects.db(DEFAULT_PROJECT), USER))?.document ?? {};
    expect(Object.keys(docD).sort()).toEqual(['d_seen', 'd_v']);

    // Events and history in the project's own schema only.
    expect(await eventIds(A)).toEqual([`a-1-${s}`, `a-2-${s}`]);
    expect(await eventIds(B)).toEqual([`b-1-${s}`, `b-2-${s}`]);
    expect((await eventIds(DEFAULT_PROJECT)).filter((id) => id.endsWith(`-${s}`))).toEqual([`d-1-${s}`]);
    expect((await getHistory(projects.db(A), USER)).map((h) => h.eventId)).toEqual([`a-1-${s}`]);
    expect((await getHistory(projects.db(B), USER)).map((h) => h.eventId)).toEqual([`b-1-${s}`]);

    // A's batch is found by its project, and its scaled belt ran on A's task queue.
    const idA = batchWorkflowId(projectTopic(rawBase, A), 0, '0', '0', A);
    const found = await waitFor('A\'s workflows listed by BeltlineProject', async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query: `BeltlineProject = "${A}" AND TaskQueue = "${queue}"` })) ids.push(wf.workflowId);
      return ids.length >= 2 ? ids : undefined;
    });
    expect(found.every((id) => id.endsWith(`@${A}`))).toBe(true);
    const history = await client.workflow.getHandle(found.find((id) => id.startsWith('ingest-')) ?? idA).fetchHistory();
    const beltQueues = (history.events ?? []).flatMap((e) => {
      const a = e.activityTaskScheduledEventAttributes;
      return a?.activityType?.name === 'runBelt' ? [a.taskQueue?.name] : [];
    });
    expect(beltQueues).toEqual([beltTaskQueue(queue, BELT, A)]);
  });

  it('adds a worker for one project\'s belt alone with --belt NAME --project P', async () => {
    const env = { BELTLINE_RAW_TOPIC: rawBase, BELTLINE_TASK_QUEUE: queue };
    const one = await startBeltline({ roles: ['worker'], belt: BELT, project: A, port: 18198, env });
    try {
      const polling = one
        .output()
        .split('\n')
        .filter((l) => l.includes('polling belt task queue'));
      expect(polling).toHaveLength(1);
      expect(polling[0]).toContain(`"taskQueue":"${beltTaskQueue(queue, BELT, A)}"`);
    } finally {
      await one.stop();
    }
  });

  it('gives every project harvesting a topic a batch of its own', async () => {
    await produce(shared, [{ eventId: `shared-1-${s}`, user: USER, v: 9 }], true);
    for (const p of [A, B]) {
      await waitFor(`${p} harvested the shared record`, async () => ((await eventIds(p)).some((id) => id.startsWith('shared-')) ? true : undefined));
      const id = batchWorkflowId(shared, 0, '0', '0', p);
      expect((await client.workflow.getHandle(id).describe()).typedSearchAttributes.get(PROJECT)).toBe(p);
    }
    expect((await eventIds(DEFAULT_PROJECT)).some((id) => id.startsWith('shared-'))).toBe(false);
  });

  it('stops a deleted project\'s belt worker and drops its schema, while the others keep working', async () => {
    expect(await projects.drop(B)).toBe(true);
    const { rows } = await instance.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [`beltline_${B}`]);
    expect(rows).toHaveLength(0);
    const stopped = (): boolean =>
      (beltline?.output() ?? '').split('\n').some((line) => line.includes(`"project":"${B}"`) && line.includes('project deleted: its belt workers stopped'));
    await waitFor('the worker to stop B\'s belt worker', async () => (stopped() ? true : undefined));
    await produce(projectTopic(rawBase, A), [{ eventId: `a-3-${s}`, user: USER, v: 3 }]);
    await waitFor('A\'s third event applied', async () => {
      const doc = (await getProfile(projects.db(A), USER))?.document;
      return (doc?.a_seen as Record<string, unknown> | undefined)?.['3'] !== undefined ? true : undefined;
    });
  });
});
