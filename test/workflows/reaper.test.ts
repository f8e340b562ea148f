import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { bucketEnd, bucketOf } from '../../src/expiry/buckets';
import { reapBucket } from '../../src/workflows';
import { timeSkippingEnvironment, WORKFLOWS } from './env';

/**
 * The reaper's durable timer and paging on Temporal's time-skipping test server, with a stub page
 * activity: what the workflow decides, not what a page does (test/integration/ttl-* covers that).
 */
describe('reapBucket workflow (time-skipping test server, stub activities)', () => {
  let env: TestWorkflowEnvironment;
  let teardown: () => Promise<void>;

  beforeAll(async () => {
    ({ env, teardown } = await timeSkippingEnvironment());
  }, 300_000);

  afterAll(async () => teardown?.());

  async function reap(id: string, bucket: number, bucketMs: number, pages: number[]) {
    const calls: { bucket: number; at: number }[] = [];
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: `reaper-${id}`,
      workflowsPath: WORKFLOWS,
      activities: {
        async reapBucketPage(b: number) {
          const taken = pages[calls.length] ?? 0;
          calls.push({ bucket: b, at: await env.currentTimeMs() });
          return { taken, expired: taken, notified: taken > 0 ? 1 : 0 };
        },
      },
    });
    const handle = await env.client.workflow.start(reapBucket, { taskQueue: `reaper-${id}`, workflowId: `reaper-test-${id}`, args: [{ bucket, bucketMs }] });
    const result = await worker.runUntil(handle.result());
    // The run that finished: another than the first when the workflow continued as new.
    const { runId } = await handle.describe();
    return { result, calls, continuedAsNew: runId !== handle.firstExecutionRunId };
  }

  it('sleeps on a durable timer until its bucket ends, a month of workflow time, then reaps', async () => {
    const bucketMs = 86_400_000;
    const start = await env.currentTimeMs();
    const bucket = bucketOf(start + 30 * bucketMs, bucketMs);
    const { result, calls, continuedAsNew } = await reap('month', bucket, bucketMs, [3]);
    expect(result).toEqual({ expired: 3, notified: 1 });
    expect(continuedAsNew).toBe(false);
    expect(calls).toHaveLength(1);
    expect(calls[0].bucket).toBe(bucket);
    expect(calls[0].at).toBeGreaterThanOrEqual(bucketEnd(bucket, bucketMs));
  }, 120_000);

  it('reaps full pages until a short one, and continues as new past 50 pages with its totals', async () => {
    const bucketMs = 60_000;
    const bucket = bucketOf((await env.currentTimeMs()) - 10 * bucketMs, bucketMs);
    // 60 full pages then 7: the first run stops at 50 and hands its totals to the next.
    const pages = [...Array.from({ length: 60 }, () => 500), 7];
    const { result, calls, continuedAsNew } = await reap('pages', bucket, bucketMs, pages);
    expect(calls).toHaveLength(61);
    expect(result).toEqual({ expired: 60 * 500 + 7, notified: 61 });
    expect(continuedAsNew).toBe(true);
  }, 120_000);
});
