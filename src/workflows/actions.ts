import { isCancellation, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EventSelector } from '../batches/record';
import { ACTIVITY_HEARTBEAT_TIMEOUT } from './liveness';

// Listing what to send is a short query: a local activity, so a batch without actions pays no
// extra task-queue round trip.
const { prepareActions } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 40 },
});

export interface ActionsResult {
  sent: number;
  failed: number;
}

/**
 * Sends the actions the belts returned for these events, after their profile updates were
 * applied: one activity per delivery, each with its action's retry policy. A delivery that fails
 * for good is recorded as failed (action_runs) and does not fail the batch.
 */
export async function runActions(events: EventSelector, project?: string): Promise<ActionsResult> {
  const { deliveries, failed } = await prepareActions(events, project);
  const outcomes = await Promise.all(
    deliveries.map(async (d) => {
      const { deliverAction } = proxyActivities<Activities>({
        // The HTTP timeout, plus room for the bookkeeping around it.
        startToCloseTimeout: d.timeoutMs + 15_000,
        // A worker that dies mid-delivery: the next attempt goes out in seconds (same idempotency key).
        heartbeatTimeout: ACTIVITY_HEARTBEAT_TIMEOUT,
        retry: {
          initialInterval: d.retry.initialIntervalMs,
          backoffCoefficient: d.retry.backoffCoefficient,
          maximumInterval: d.retry.maximumIntervalMs,
          maximumAttempts: d.retry.maximumAttempts,
        },
      });
      try {
        return (await deliverAction(d.key, d.retry.maximumAttempts, project)).state;
      } catch (err) {
        if (isCancellation(err)) throw err;
        return 'failed';
      }
    }),
  );
  return { sent: outcomes.filter((s) => s === 'sent').length, failed: failed + outcomes.filter((s) => s === 'failed').length };
}
