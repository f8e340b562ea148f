import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import type { Activities } from '../../src/activities';
import type { ProcessedBatch } from '../../src/activities/process-batch';
import type { EventSelector, IngestBatchInput } from '../../src/batches/record';
import { ingestBatch } from '../../src/workflows';

/**
 * The batch workflow's shape, with stub activities on the local Temporal server: the common case is
 * one local step and nothing else; belts with a task queue of their own run there, then their
 * outputs are applied and actions sent. Its history holds the claim check, never events.
 */
describe('ingestBatch workflow', () => {
  const cfg = loadConfig();
  let native: NativeConnection;
  let connection: Connection;
  let client: Client;
  let workflowBundle: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    // Bundled once: each worker and the replayer load the same code.
    workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
    native = await NativeConnection.connect({ address: cfg.TEMPORAL_ADDRESS });
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
  }, 120_000);

  afterAll(async () => {
    await connection?.close();
    await native?.close();
  });

  // The batch outcome sinks feed metrics in a real worker; here they are heard and dropped.
  const quietSinks = { batches: { completed: { fn: () => undefined }, failed: { fn: () => undefined } } };

  const processed = (over: Partial<ProcessedBatch>): ProcessedBatch => ({
    batchId: 'raw-0-10-19',
    events: 100,
    duplicates: 0,
    badRows: 1,
    eventTypes: ['snowplow'],
    beltRuns: [{ belt: 'inline', version: 'v1', ran: 100, errors: 0 }],
    queuedBelts: [],
    applied: 100,
    profiles: 40,
    buckets: [],
    bucketMs: 60_000,
    actions: false,
    ...over,
  });

  async function run(result: ProcessedBatch, beltQueue?: string) {
    const taskQueue = `wf-${crypto.randomBytes(4).toString('hex')}`;
    const calls: string[] = [];
    const selectors: EventSelector[] = [];
    const stubs: Partial<Activities> = {
      processBatch: async (input: IngestBatchInput) => {
        calls.push(`processBatch:${input.topic}:${input.firstOffset}-${input.lastOffset}`);
        return result;
      },
      applyBatch: async (sel) => {
        calls.push('applyBatch');
        selectors.push(sel as EventSelector);
        return { applied: 7, profiles: 3, buckets: [] };
      },
      prepareActions: async (sel) => {
        calls.push('prepareActions');
        selectors.push(sel as EventSelector);
        return { deliveries: [], failed: 0 };
      },
    };
    const main = await Worker.create({ connection: native, namespace: cfg.TEMPORAL_NAMESPACE, taskQueue, workflowBundle, activities: stubs, sinks: quietSinks });
    const belt = beltQueue
      ? await Worker.create({
          connection: native,
          namespace: cfg.TEMPORAL_NAMESPACE,
          taskQueue: beltQueue,
          activities: {
            runBelt: async (_ref: unknown, sel: EventSelector) => {
              calls.push(`runBelt@${beltQueue}`);
              selectors.push(sel);
              return { ran: 5, errors: 1 };
            },
          },
        })
      : undefined;
    const input: IngestBatchInput = { topic: 'raw', partition: 0, firstOffset: '10', lastOffset: '19', recordCount: 10 };
    const workflowId = `ingest-test-${taskQueue}`;
    const out = await (belt ? belt.runUntil(main.runUntil(client.workflow.execute(ingestBatch, { taskQueue, workflowId, args: [input] }))) : main.runUntil(client.workflow.execute(ingestBatch, { taskQueue, workflowId, args: [input] })));
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return { out, calls, selectors, history };
  }

  it('is one local step in the common case, and its history carries no events', async () => {
    const { out, calls, history } = await run(processed({}));
    expect(calls).toEqual(['processBatch:raw:10-19']);
    expect(out).toMatchObject({ events: 100, badRows: 1, applied: 100, profiles: 40, actions: { sent: 0, failed: 0 } });
    const events = history.events ?? [];
    // Started, one workflow task with its local-activity marker and search attributes, completed.
    expect(events.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
    expect(events.filter((e) => e.markerRecordedEventAttributes)).toHaveLength(1);
    expect(events.length).toBeLessThanOrEqual(10);
  }, 60_000);

  it('runs belts that have a task queue on it, then applies their outputs and sends actions, by batch', async () => {
    const queue = `belt-q-${crypto.randomBytes(3).toString('hex')}`;
    const { out, calls, selectors } = await run(processed({ queuedBelts: [{ name: 'scaled', version: 'v2', taskQueue: queue }] }), queue);
    expect(calls).toEqual(['processBatch:raw:10-19', `runBelt@${queue}`, 'applyBatch', 'prepareActions']);
    expect(selectors).toEqual([{ batchId: 'raw-0-10-19' }, { batchId: 'raw-0-10-19' }, { batchId: 'raw-0-10-19' }]);
    expect(out.applied).toBe(107);
    expect(out.beltRuns).toEqual([
      { belt: 'inline', version: 'v1', ran: 100, errors: 0 },
      { belt: 'scaled', version: 'v2', ran: 5, errors: 1 },
    ]);
  }, 60_000);

  it('replays its own history deterministically', async () => {
    const { history } = await run(processed({ actions: true }));
    await expect(Worker.runReplayHistory({ workflowBundle }, history)).resolves.toBeUndefined();
  }, 60_000);
});
