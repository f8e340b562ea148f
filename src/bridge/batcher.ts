/**
 * How the bridge fetches from Kafka: the broker holds a fetch until it has half a batch of bytes
 * or the linger passed, so under backlog a fetch comes back at once and full, and under light load
 * after the linger. kafkajs's default (answer as soon as a byte is there) made the broker answer a
 * fetch per produce, at 2-4 times the CPU per produce request.
 */
export function batchFetch(cfg: { BATCH_LINGER_MS: number; BATCH_MAX_BYTES: number; BELTLINE_RAW_PARTITIONS: number }): {
  maxWaitTimeInMs: number;
  minBytes: number;
  maxBytesPerPartition: number;
  maxBytes: number;
} {
  return {
    maxWaitTimeInMs: cfg.BATCH_LINGER_MS,
    minBytes: Math.floor(cfg.BATCH_MAX_BYTES / 2),
    maxBytesPerPartition: cfg.BATCH_MAX_BYTES,
    maxBytes: cfg.BATCH_MAX_BYTES * cfg.BELTLINE_RAW_PARTITIONS,
  };
}

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
