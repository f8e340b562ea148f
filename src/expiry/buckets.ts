/**
 * Expirations are reaped by time bucket: one reaper workflow per bucket, with a deterministic
 * id, waits on a durable timer until the bucket ends. Pure.
 */

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


/** The id of the event an expiration emits: the same expiration always gives the same event. */
export function expirationEventId(kind: 'ttl' | 'ttn', profileId: string, path: readonly string[], stampEid: string): string {
  return `${kind}:${profileId}:${JSON.stringify(path)}:${stampEid}`;
}

/**
 * Deterministic: a bucket has one reaper, however many batches schedule into it. The task queue
 * is part of it because it stands for a deployment (its database): two beltlines sharing one
 * Temporal namespace (tests beside `npm start`, staging beside production) each reap their own.
 */
export function reaperId(taskQueue: string, bucket: number, bucketMs: number): string {
  return `reaper-${taskQueue}-${bucketMs}ms-${bucket}`;
}
