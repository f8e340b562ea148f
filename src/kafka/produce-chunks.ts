/**
 * Sizes of Kafka records and how a send of many is cut into produce requests. Pure: no I/O.
 *
 * Kafka refuses a record batch over the broker's `message.max.bytes` (1,048,588 by default), so
 * a send of many messages is split into requests well under it, and a single message that cannot
 * fit at all is refused before anything is sent.
 */

/** A message as beltline hands it to Kafka. */
export interface OutgoingMessage {
  key?: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string | Buffer>;
}

/**
 * The most a single record may take (key, value and headers): under Kafka's default
 * message.max.bytes (1,048,588) with room for the batch's framing (61 bytes) and the record's own.
 */
export const MAX_RECORD_BYTES = 1_040_000;

/**
 * What one produce request carries at most. Half of what Kafka accepts in one batch: room for
 * framing, and a failed request takes fewer records down with it.
 */
export const MAX_REQUEST_BYTES = 512 * 1024;

// A record's framing in the v2 format: length, attributes, timestamp and offset deltas, key and
// value lengths (varints of at most 5 bytes each, 10 for the timestamp delta), header count.
const RECORD_OVERHEAD = 40;
// Each header adds its key and value lengths.
const HEADER_OVERHEAD = 10;

function bytesOf(v: string | Buffer | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/** The bytes a message takes on the wire, framing included (an upper bound). */
export function recordBytes(m: OutgoingMessage): number {
  let n = RECORD_OVERHEAD + bytesOf(m.key) + bytesOf(m.value);
  if (m.headers) for (const [k, v] of Object.entries(m.headers)) n += HEADER_OVERHEAD + Buffer.byteLength(k) + bytesOf(v);
  return n;
}

/**
 * Cuts messages, in order, into chunks of at most `maxBytes` each (by recordBytes). A message
 * larger than `maxBytes` on its own goes alone in a chunk: whether Kafka takes it is the caller's
 * check (MAX_RECORD_BYTES), not this function's.
 */
export function chunkByBytes<M extends OutgoingMessage>(messages: readonly M[], maxBytes: number, sizeOf: (m: M) => number = recordBytes): M[][] {
  const chunks: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
