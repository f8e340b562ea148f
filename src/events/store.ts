import type { Pool, PoolClient } from 'pg';
import type { PipelineEvent } from './expand';
import type { EventType } from '../eventtypes/definition';
import { durationField } from '../shared/durations';
import { dropPartitionsBefore } from './partitions';

export interface StoredEvent {
  eventId: string;
  correlationId: string;
  created: string;
  headers: Record<string, unknown>;
  payload: unknown;
}

export interface EventPage {
  events: StoredEvent[];
  /** Pass as `after` for the next page; null on the last one. */
  next: string | null;
}

/** Keyset cursor: the (created, id) of the last event of a page, opaque to clients. */
export function encodeCursor(created: string, id: string): string {
  return Buffer.from(JSON.stringify([created, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && !Number.isNaN(Date.parse(v[0]))) return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new Error('after: not a cursor this API returned');
}

export interface BrowseOptions {
  from?: string;
  to?: string;
  limit: number;
  /** The `next` cursor of the previous page, in the same order. */
  after?: string;
  /** `desc`: newest first (the console's browser); the cursor then walks back in time. */
  order?: 'asc' | 'desc';
  correlationId?: string;
}

/**
 * The query of one page: keyset paging on (created_at, event_id) in either direction, so a page
 * costs the same however deep it is; a row more than the page tells whether there is a next one.
 */
export function browseQuery(eventType: string, opts: BrowseOptions): { text: string; values: unknown[] } {
  const [afterCreated, afterId] = opts.after ? decodeCursor(opts.after) : [null, null];
  const desc = opts.order === 'desc';
  const dir = desc ? ' DESC' : '';
  return {
    text: `SELECT event_id, correlation_id, created_at AS created, headers, payload FROM events
      WHERE event_type = $1
        AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
        AND ($4::timestamptz IS NULL OR (created_at, event_id) ${desc ? '<' : '>'} ($4, $5))
        AND ($6::text IS NULL OR correlation_id = $6)
      ORDER BY created_at${dir}, event_id${dir} LIMIT $7`,
    values: [eventType, opts.from ?? null, opts.to ?? null, afterCreated, afterId, opts.correlationId ?? null, opts.limit + 1],
  };
}

/** Events of one type in time order (oldest or newest first), from/to by event time, a page at a time. */
export async function browseEvents(pool: Pool, eventType: string, opts: BrowseOptions): Promise<EventPage> {
  const { text, values } = browseQuery(eventType, opts);
  const { rows } = await pool.query<{ event_id: string; correlation_id: string; created: Date; headers: Record<string, unknown>; payload: unknown }>(text, values);
  const page = rows.slice(0, opts.limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => ({ eventId: r.event_id, correlationId: r.correlation_id, created: r.created.toISOString(), headers: r.headers, payload: r.payload })),
    next: rows.length > opts.limit && last ? encodeCursor(last.created.toISOString(), last.event_id) : null,
  };
}

/**
 * Deletes events older than their type's eventstoreTTL (by event time), and drops the month
 * partitions older than every type keeps. Returns how many events went by DELETE.
 */
export async function applyRetention(pool: Pool, types: Iterable<EventType>, now = Date.now()): Promise<number> {
  let deleted = 0;
  const all = [...types];
  if (all.length > 0 && all.every((t) => t.eventstoreTTL)) {
    const longest = Math.max(...all.map((t) => durationField(t.eventstoreTTL as string, 'eventstoreTTL')));
    await dropPartitionsBefore(pool, now - longest);
    await pool.query('DELETE FROM event_ids WHERE created_at < $1', [new Date(now - longest)]);
  }
  for (const t of all) {
    if (!t.eventstoreTTL) continue;
    const cutoff = new Date(now - durationField(t.eventstoreTTL, 'eventstoreTTL'));
    const { rowCount } = await pool.query('DELETE FROM events WHERE event_type = $1 AND created_at < $2', [t.name, cutoff]);
    // The ids go with the events: past retention, an event counts as new again.
    await pool.query('DELETE FROM event_ids WHERE event_type = $1 AND created_at < $2', [t.name, cutoff]);
    deleted += rowCount ?? 0;
  }
  return deleted;
}

/**
 * Stores a batch's events and returns the ids new to the store: an event stored before (a tracker
 * retry, a re-read batch) is a duplicate, and what followed from it was done when it first came.
 * Rows go in id order, so two batches sharing events take their locks in the same order.
 */
export async function insertEvents(client: PoolClient, events: readonly PipelineEvent[], batchId: string): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const sorted = [...events].sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  // The id is claimed first (event_ids holds ids alone); only an event whose id was new is stored.
  // The rows travel as one JSON parameter: node-postgres escapes every element of a jsonb[] one
  // by one, which showed in the worker's CPU profile.
  const { rows } = await client.query<{ event_id: string }>(
    `WITH e AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb)
                AS e(event_id text, event_type text, correlation_id text, created float8, headers jsonb, payload jsonb)
     ), fresh AS (
       INSERT INTO event_ids (event_id, event_type, created_at)
       SELECT event_id, event_type, to_timestamp(created / 1000.0) FROM e
       ON CONFLICT (event_id) DO NOTHING
       RETURNING event_id
     )
     INSERT INTO events (event_id, event_type, correlation_id, created_at, headers, payload, batch_id)
     SELECT e.event_id, e.event_type, e.correlation_id, to_timestamp(e.created / 1000.0), e.headers, e.payload, $2
       FROM e JOIN fresh USING (event_id)
     RETURNING event_id`,
    [
      JSON.stringify(
        sorted.map((e) => ({ event_id: e.eventId, event_type: e.eventType, correlation_id: e.correlationId, created: e.created, headers: e.headers, payload: e.payload })),
      ),
      batchId,
    ],
  );
  return new Set(rows.map((r) => r.event_id));
}
