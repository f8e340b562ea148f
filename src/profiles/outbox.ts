import type { Pool } from 'pg';
import type { ResilientProducer } from '../kafka/producer';

/**
 * Publishes queued change-stream messages (of these events, or all) to the change stream after
 * their transaction committed, then marks them. A crash in between publishes them again later:
 * at least once, keyed by profile id so a profile's changes stay in order.
 */
export async function publishOutbox(pool: Pool, producer: ResilientProducer, topic: string, eventIds?: string[]): Promise<number> {
  const { rows } = await pool.query<{ id: string; message: { _id: string } }>(
    `SELECT id, message FROM profile_changes WHERE NOT published AND ($1::text[] IS NULL OR event_id = ANY($1::text[])) ORDER BY id LIMIT 10000`,
    [eventIds ?? null],
  );
  if (rows.length === 0) return 0;
  await producer.send(
    topic,
    rows.map((r) => ({ key: r.message._id, value: JSON.stringify(r.message) })),
    // A change too large for Kafka would hold up the outbox for ever: it goes out without its
    // value (kept in profile_changes), so consumers know to read the profile instead.
    { oversized: (m, err) => ({ key: m.key, value: JSON.stringify({ ...(JSON.parse(m.value) as object), _value: null, _tooLarge: { bytes: err.bytes, limit: err.limit } }) }) },
  );
  await pool.query('UPDATE profile_changes SET published = true WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
  return rows.length;
}
