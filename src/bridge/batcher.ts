export interface BatchLimits {
  maxEvents: number;
  maxBytes: number;
}

export interface SizedMessage {
  offset: string;
  value: Buffer | null;
}

/**
 * Cuts consecutive messages into batches of at most `maxEvents` messages and `maxBytes` bytes.
 * A single message larger than `maxBytes` still forms a batch of its own: the collector's body
 * limit keeps it under Temporal's payload limit.
 */
export function cutBatches<T extends SizedMessage>(messages: readonly T[], limits: BatchLimits): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = m.value?.length ?? 0;
    if (current.length > 0 && (current.length >= limits.maxEvents || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
