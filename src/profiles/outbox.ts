import type { Pool, PoolClient } from 'pg';
import type { ResilientProducer } from '../kafka/producer';

interface OutboxRow {
  id: string;
  /** A row of one change (written before batches shared a row). */
  message: ChangeMessage | null;
  /** A batch's changes, in the order they were applied. */
  messages: ChangeMessage[] | null;
}

/** A change-stream message (seed 000's update message of the change applied), keyed by profile. */
export interface ChangeMessage {
  _id: string;
  [field: string]: unknown;
}

/** The outbox row a batch wrote, with the messages it holds: published after the commit. */
export interface WrittenChanges {
  id: string;
  messages: ChangeMessage[];
}

/** Rows per read: each holds a whole batch's changes (up to the batch size). */
const ROWS_PER_READ = 50;

async function sendChanges(producer: ResilientProducer, topic: string, messages: readonly ChangeMessage[]): Promise<void> {
  await producer.send(
    topic,
    messages.map((m) => ({ key: m._id, value: JSON.stringify(m) })),
    // A change too large for Kafka would hold up the outbox for ever: it goes out without its
    // value (kept in profile_changes), so consumers know to read the profile instead.
    { oversized: (m, err) => ({ key: m.key, value: JSON.stringify({ ...(JSON.parse(m.value) as object), _value: null, _tooLarge: { bytes: err.bytes, limit: err.limit } }) }) },
  );
}

async function markPublished(pool: Pool, ids: string[]): Promise<void> {
  await pool.query('UPDATE profile_changes SET published = true WHERE id = ANY($1::bigint[])', [ids]);
}

/**
 * Publishes the outbox row a batch just committed, from the messages it holds (reading the row
 * back cost each batch a round trip and a parse of every message), then marks it. A failed send
 * leaves it unpublished for the sweeper's publishOutbox: at least once. The messages are
 * serialised before the first await, as the row was: values in them may be shared with profile
 * states that the next batch takes from the cache once this one's are remembered.
 */
export async function publishWritten(pool: Pool, producer: ResilientProducer, topic: string, written: WrittenChanges): Promise<number> {
  await sendChanges(producer, topic, written.messages);
  await markPublished(pool, [written.id]);
  return written.messages.length;
}

/**
 * Publishes each batch's changes right after its commit without the batch waiting for Kafka's
 * acknowledgement and the row's mark: at 1,000 events/s that wait was 17-20 ms of a batch's
 * 110-130 in its step, and a batch holds one of its bridge's few slots until it ends. What fails
 * to go out is left to the sweeper, as before: at least once. `drain` waits for the sends under
 * way, for a worker that stops before its producer disconnects.
 */
export class ChangePublisher {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly pool: Pool,
    private readonly producer: () => ResilientProducer,
    private readonly topic: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Starts publishing; the messages are serialised before this returns (see publishWritten). */
  publish(written: WrittenChanges): void {
    const sending: Promise<void> = publishWritten(this.pool, this.producer(), this.topic, written).then(
      () => undefined,
      (err: unknown) => this.onError(err),
    );
    this.pending.add(sending);
    void sending.finally(() => this.pending.delete(sending));
  }

  /** How many publishes are under way. */
  get size(): number {
    return this.pending.size;
  }

  async drain(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}

/**
 * Publishes queued change-stream messages (of these outbox rows, or all) to the change stream
 * after their transaction committed, then marks them. A crash in between publishes them again
 * later: at least once, keyed by profile id so a profile's changes stay in order.
 */
export async function publishOutbox(pool: Pool, producer: ResilientProducer, topic: string, rowIds?: string[]): Promise<number> {
  if (rowIds?.length === 0) return 0;
  let sent = 0;
  for (;;) {
    const { rows } = await pool.query<OutboxRow>(
      `SELECT id, message, messages FROM profile_changes WHERE NOT published AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[])) ORDER BY id LIMIT ${ROWS_PER_READ}`,
      [rowIds ?? null],
    );
    if (rows.length === 0) return sent;
    const messages = rows.flatMap((r) => r.messages ?? (r.message ? [r.message] : []));
    await sendChanges(producer, topic, messages);
    await markPublished(pool, rows.map((r) => r.id));
    sent += messages.length;
    if (rows.length < ROWS_PER_READ) return sent;
  }
}

/**
 * Deletes outbox rows Kafka acknowledged more than `keepMs` ago; a row not yet published stays
 * whatever its age. Without this the outbox grew by a row per batch for ever.
 */
export async function purgePublishedChanges(db: Pool | PoolClient, keepMs: number): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM profile_changes WHERE published AND created_at < now() - $1 * interval '1 millisecond'`, [keepMs]);
  return rowCount ?? 0;
}
