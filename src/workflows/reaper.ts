import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { continueAsNew, ParentClosePolicy, patched, proxyActivities, sleep, startChild, workflowInfo, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { bucketEnd, reaperId } from '../expiry/buckets';
import { DEFAULT_PROJECT } from '../projects/names';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from './liveness';
import { PROJECT } from './search-attributes';

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' };
const { reapBucketPage } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT, retry });

export interface ReapBucketInput {
  bucket: number;
  bucketMs: number;
  /** Whose expirations; absent in reapers started before projects: the default project. */
  project?: string;
  expired?: number;
  notified?: number;
}

const PAGES_PER_RUN = 50;

/**
 * One bucket of expirations: a durable timer until the bucket ends (it survives worker and server
 * restarts), then the bucket is reaped page by page.
 */
export async function reapBucket(input: ReapBucketInput): Promise<{ expired: number; notified: number }> {
  const end = bucketEnd(input.bucket, input.bucketMs);
  const wait = end - Date.now();
  if (wait > 0) await sleep(wait);
  let expired = input.expired ?? 0;
  let notified = input.notified ?? 0;
  for (let page = 0; page < PAGES_PER_RUN; page++) {
    const r = await reapBucketPage(input.bucket, input.project);
    expired += r.expired;
    notified += r.notified;
    if (r.taken < 500) return { expired, notified };
  }
  return continueAsNew<typeof reapBucket>({ ...input, expired, notified });
}


/** Starts the reapers of these buckets unless they run already; they outlive the caller. */
export async function ensureReapers(buckets: number[], bucketMs: number, project?: string): Promise<void> {
  for (const bucket of buckets) {
    try {
      await startChild(reapBucket, {
        // Batches started before reaper ids named their task queue replay with the old id.
        workflowId: patched('reaper-id-task-queue') ? reaperId(workflowInfo().taskQueue, bucket, bucketMs, project) : `reaper-${bucketMs}ms-${bucket}`,
        // The default project's input stays as it was, so histories from before projects replay alike.
        args: [project === undefined || project === DEFAULT_PROJECT ? { bucket, bucketMs } : { bucket, bucketMs, project }],
        typedSearchAttributes: [{ key: PROJECT, value: project ?? DEFAULT_PROJECT }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // A bucket whose reaper finished may get late entries: a new run reaps them at once.
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}
