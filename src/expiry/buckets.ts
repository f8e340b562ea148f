/**
 * Expirations are reaped by time bucket: one reaper workflow per bucket, with a deterministic
 * id, waits on a durable timer until the bucket ends. Pure.
 */
import { projectScoped } from '../projects/names';

export function bucketOf(ms: number, bucketMs: number): number {
  return Math.floor(ms / bucketMs);
}

export function bucketEnd(bucket: number, bucketMs: number): number {
  return (bucket + 1) * bucketMs;
}

/**
 * The bucket an expiration goes to: its due time's, but never the current or a past bucket, whose
 * reaper may already be running; a value already due is reaped with the next bucket.
 */
export function registrationBucket(dueAt: number, now: number, bucketMs: number): number {
  return Math.max(bucketOf(dueAt, bucketMs), bucketOf(now, bucketMs) + 1);
}


/**
 * The most buckets a step hands its workflow to start reapers for. A step's result lands in the
 * workflow's history (under Temporal's 2 MiB per payload) and each bucket is a child workflow
 * started in one workflow task: a batch whose updates spread over thousands of buckets names the
 * soonest, and the sweeper starts the others' reapers once they are due.
 */
export const MAX_BUCKETS_PER_STEP = 200;

/** The distinct buckets, soonest first, at most `max` of them. Pure. */
export function soonestBuckets(buckets: Iterable<number>, max: number = MAX_BUCKETS_PER_STEP): number[] {
  return [...new Set(buckets)].sort((a, b) => a - b).slice(0, max);
}

/** The id of the event an expiration emits: the same expiration always gives the same event. */
export function expirationEventId(kind: 'ttl' | 'ttn', profileId: string, path: readonly string[], stampEid: string): string {
  return `${kind}:${profileId}:${JSON.stringify(path)}:${stampEid}`;
}

/**
 * Deterministic: a bucket has one reaper, however many batches schedule into it. The task queue
 * is part of it because it stands for a deployment (its database): two beltlines sharing one
 * Temporal namespace (tests beside `npm start`, staging beside production) each reap their own.
 */
export function reaperId(taskQueue: string, bucket: number, bucketMs: number, project?: string): string {
  return projectScoped(`reaper-${taskQueue}-${bucketMs}ms-${bucket}`, project);
}
