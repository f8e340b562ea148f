import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, type WorkflowFailedError } from '@temporalio/client';
// The SDK's JSON history functions need one protobufjs copy shared by @temporalio/*: the
// devDependency on protobufjs 8 makes npm hoist it (grpc's 7 would otherwise take the top).
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Activities, AppliedBatch, BeltRun, ProcessedBatch } from '../../src/activities';
import type { IngestBatchInput } from '../../src/batches/record';
import { ingestBatch } from '../../src/workflows';
import { PROJECT } from '../../src/workflows/search-attributes';
import { devServerEnvironment, WORKFLOWS } from './env';

/**
 * `ingestBatch` on Temporal's test server with stub activities: what the workflow itself decides
 * (the order of its steps, retries, what a failure leaves behind), without the stack.
 */

const HISTORY = path.join(__dirname, 'histories', 'ingest-batch-queued-belt.json');

function input(first: number, retry?: IngestBatchInput['retry']): IngestBatchInput {
  return { topic: 'raw', partition: 0, firstOffset: String(first), lastOffset: String(first + 9), recordCount: 10, ...(retry ? { retry } : {}) };
}

function processed(over: Partial<ProcessedBatch> = {}): ProcessedBatch {
  return {
    batchId: 'raw-0-0-9',
    events: 10,
    duplicates: 0,
    badRows: 1,
    eventTypes: ['snowplow'],
    beltRuns: [{ belt: 'counter', version: 'v1', ran: 9, errors: 0 }],
    queuedBelts: [],
    applied: 9,
    profiles: 3,
    buckets: [],
    bucketMs: 60_000,
    actions: false,
    ...over,
  };
}

type Stubs = Partial<Activities>;

describe('ingestBatch workflow (a private dev server, stub activities)', () => {
  let env: TestWorkflowEnvironment;
  let teardown: () => Promise<void>;

  beforeAll(async () => {
    ({ env, teardown } = await devServerEnvironment());
  }, 300_000);

  afterAll(async () => teardown?.());

  // A task queue per test: a worker of a failed test must not take the next test's tasks.
  async function run(stubs: Stubs, extra: { queue: string; stubs: Stubs }[], start: IngestBatchInput, id: string) {
    const QUEUE = `ingest-batch-${id}`;
    const main = await Worker.create({ connection: env.nativeConnection, taskQueue: QUEUE, workflowsPath: WORKFLOWS, activities: stubs });
    const others = await Promise.all(extra.map((e) => Worker.create({ connection: env.nativeConnection, taskQueue: e.queue, activities: e.stubs })));
    const handle = await env.client.workflow.start(ingestBatch, { taskQueue: QUEUE, workflowId: id, args: [start] });
    const settled: Promise<{ ok: unknown } | { err: unknown }> = handle.result().then(
      (ok) => ({ ok }),
      (err: unknown) => ({ err }),
    );
    await Promise.all([main, ...others].map((w) => w.runUntil(settled)));
    const result = await settled;
    return { handle, result };
  }

  it('retries a failing step and completes: the batch is stored once, whatever failed before', async () => {
    let calls = 0;
    const { result } = await run(
      {
        async processBatch() {
          calls++;
          if (calls < 3) throw new Error('connection terminated unexpectedly');
          return processed();
        },
      },
      [],
      input(0),
      'wf-retry',
    );
    expect(calls).toBe(3);
    expect(result).toEqual({ ok: { events: 10, duplicates: 0, badRows: 1, beltRuns: [{ belt: 'counter', version: 'v1', ran: 9, errors: 0 }], applied: 9, profiles: 3, actions: { sent: 0, failed: 0 } } });
  }, 60_000);

  it('fails with the cause once the input retry policy is spent, so `replay` can find it', async () => {
    let calls = 0;
    const { result } = await run(
      {
        async processBatch() {
          calls++;
          throw ApplicationFailure.retryable('PostgreSQL is down', 'ConnectionError');
        },
      },
      [],
      input(100, { maximumAttempts: 2, maximumIntervalMs: 1000 }),
      'wf-exhausted',
    );
    expect(calls).toBe(2);
    expect('err' in result).toBe(true);
    const err = (result as { err: WorkflowFailedError }).err;
    let cause: unknown = err;
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
    expect((cause as Error).message).toBe('PostgreSQL is down');
  }, 60_000);

  it('runs a belt with a scale on its own task queue, then applies its outputs, and records a replayable history', async () => {
    const calls: string[] = [];
    const beltQueue = 'ingest-batch-belt-scaled';
    const { handle, result } = await run(
      {
        async processBatch() {
          calls.push('processBatch');
          return processed({ queuedBelts: [{ name: 'scaled', version: 'v2', taskQueue: beltQueue }], buckets: [], applied: 4 });
        },
        async applyBatch(sel): Promise<AppliedBatch> {
          calls.push(`applyBatch ${JSON.stringify(sel)}`);
          return { applied: 5, profiles: 2, buckets: [] };
        },
        async prepareActions(sel) {
          calls.push(`prepareActions ${JSON.stringify(sel)}`);
          return { deliveries: [], failed: 0 };
        },
      },
      [
        {
          queue: beltQueue,
          stubs: {
            async runBelt(belt, sel): Promise<BeltRun> {
              calls.push(`runBelt ${belt.name}@${belt.version} ${JSON.stringify(sel)}`);
              return { ran: 10, errors: 1 };
            },
          },
        },
      ],
      input(200),
      'wf-queued-belt',
    );
    expect(calls).toEqual(['processBatch', 'runBelt scaled@v2 {"batchId":"raw-0-0-9"}', 'applyBatch {"batchId":"raw-0-0-9"}', 'prepareActions {"batchId":"raw-0-0-9"}']);
    expect(result).toEqual({
      ok: {
        events: 10,
        duplicates: 0,
        badRows: 1,
        beltRuns: [
          { belt: 'counter', version: 'v1', ran: 9, errors: 0 },
          { belt: 'scaled', version: 'v2', ran: 10, errors: 1 },
        ],
        applied: 9,
        profiles: 5,
        actions: { sent: 0, failed: 0 },
      },
    });
    const history = await handle.fetchHistory();
    if (process.env.RECORD_HISTORIES === '1') {
      fs.mkdirSync(path.dirname(HISTORY), { recursive: true });
      fs.writeFileSync(HISTORY, `${historyToJSON(history)}\n`);
    }
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS }, history, 'wf-queued-belt');
  }, 60_000);

  it('hands a project\'s batch\'s project to every step, and starts its reapers as the project\'s own', async () => {
    const calls: string[] = [];
    const beltQueue = 'ingest-batch-belt-scaled@shop';
    const reaperQueue = 'ingest-batch-wf-project';
    const { result } = await run(
      {
        async processBatch(i) {
          calls.push(`processBatch ${i.project}`);
          return processed({ queuedBelts: [{ name: 'scaled', version: 'v2', taskQueue: beltQueue }], buckets: [], actions: true });
        },
        async applyBatch(_sel, project): Promise<AppliedBatch> {
          calls.push(`applyBatch ${project}`);
          return { applied: 1, profiles: 1, buckets: [7] };
        },
        async prepareActions(_sel, project) {
          calls.push(`prepareActions ${project}`);
          return { deliveries: [{ key: 'k1', action: 'hook', timeoutMs: 1000, retry: { initialIntervalMs: 100, backoffCoefficient: 2, maximumIntervalMs: 1000, maximumAttempts: 1 } }], failed: 0 };
        },
        async deliverAction(key, _max, project) {
          calls.push(`deliverAction ${key} ${project}`);
          return { state: 'sent' as const, skipped: false, status: 200 };
        },
        async reapBucketPage(bucket, project) {
          calls.push(`reapBucketPage ${bucket} ${project}`);
          return { taken: 0, expired: 0, notified: 0 };
        },
      },
      [
        {
          queue: beltQueue,
          stubs: {
            async runBelt(belt, _sel, _opts, project): Promise<BeltRun> {
              calls.push(`runBelt ${belt.name} ${project}`);
              return { ran: 1, errors: 0 };
            },
          },
        },
      ],
      { ...input(300), project: 'shop' },
      'wf-project',
    );
    expect('ok' in result).toBe(true);
    // The reaper of bucket 7 (long over) is the project's: its id, its input, its search attribute.
    const reaper = env.client.workflow.getHandle(`reaper-${reaperQueue}-60000ms-7@shop`);
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue: reaperQueue, workflowsPath: WORKFLOWS, activities: {
      async reapBucketPage(bucket: number, project?: string) {
        calls.push(`reapBucketPage ${bucket} ${project}`);
        return { taken: 0, expired: 0, notified: 0 };
      },
    } });
    await worker.runUntil(reaper.result());
    expect((await reaper.describe()).typedSearchAttributes.get(PROJECT)).toBe('shop');
    // The reaper runs beside the actions (a child that outlives the batch): order aside.
    expect(calls.sort()).toEqual(['applyBatch shop', 'deliverAction k1 shop', 'prepareActions shop', 'processBatch shop', 'reapBucketPage 7 shop', 'runBelt scaled shop']);
  }, 60_000);

  it('replays the history recorded by an earlier version without nondeterminism', async () => {
    // A change to the workflow's steps that breaks running batches on a rolling deploy fails here;
    // guard it with `patched()` (see reaper.ts), then re-record with RECORD_HISTORIES=1.
    const history = historyFromJSON(JSON.parse(fs.readFileSync(HISTORY, 'utf8')));
    await Worker.runReplayHistory({ workflowsPath: WORKFLOWS }, history, 'recorded');
  }, 60_000);
});
