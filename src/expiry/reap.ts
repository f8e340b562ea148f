import type { Pool } from 'pg';
import { withTransaction } from '../db/pool';
import { MAX_RECORD_BYTES, type ResilientProducer } from '../kafka/producer';
import type { JsonRecord } from '../batches/record';
import { expireValue, type Json } from '../profiles/semantics';
import { lockProfiles, queueChanges, writeProfiles } from '../profiles/store';
import type { ChangeMessage } from '../profiles/outbox';
import { expirationEventId } from './buckets';

export const TTL_EVENT_TYPE = 'profile-ttl';
export const TTN_EVENT_TYPE = 'profile-ttn';
/** The `collector` of the records the reaper writes to the raw topic. */
export const REAPER_COLLECTOR = 'beltline-reaper';
const PAGE = 500;

interface Row {
  profile_id: string;
  path: string[];
  kind: 'ttl' | 'ttn';
  due_at: Date;
  stamp_in: number;
  stamp_eid: string;
}

export interface ReapedPage {
  expired: number;
  notified: number;
  /** Rows taken from the bucket; fewer than a page means the bucket is empty now. */
  taken: number;
}

/** How much of a record's room the reaper fills: the rest is for the key, framing and rounding. */
const RECORD_ROOM = MAX_RECORD_BYTES - 1024;

/**
 * The `raw` records carrying a page's expiration events of one type, cut so that each fits in a
 * Kafka record: 500 expired values of 100 KB would make one record Kafka refuses, and a reaper
 * retrying that send would never finish its bucket. An event too large on its own (its old value
 * alone is over the limit) goes without it, with `oldValueTooLarge` saying so: the value was in
 * the profile's change stream when written. Pure.
 */
export function expirationRecords(eventType: string, events: readonly unknown[], timestamp: number, room: number = RECORD_ROOM): { value: string }[] {
  // `events` comes last: the record is its JSON up to `[`, the events' JSON, and `]}`.
  const empty = JSON.stringify({ kind: 'json', collector: REAPER_COLLECTOR, timestamp, eventType, events: [] } satisfies JsonRecord);
  const head = (list: string[]): string => `${empty.slice(0, -2)}${list.join(',')}]}`;
  const base = Buffer.byteLength(empty);
  const records: { value: string }[] = [];
  let current: string[] = [];
  let bytes = base;
  for (const event of events) {
    let json = JSON.stringify(event);
    let size = Buffer.byteLength(json);
    if (base + size > room) {
      json = JSON.stringify({ ...(event as Record<string, unknown>), oldValue: null, oldValueTooLarge: { bytes: size, limit: room - base } });
      size = Buffer.byteLength(json);
    }
    if (current.length > 0 && bytes + 1 + size > room) {
      records.push({ value: head(current) });
      current = [];
      bytes = base;
    }
    current.push(json);
    bytes += size + (current.length > 1 ? 1 : 0);
  }
  if (current.length > 0) records.push({ value: head(current) });
  return records;
}

/**
 * Reaps one page of a bucket in one transaction: time-to-live values still as written are removed
 * (a value refreshed since is left alone), and a `profile-ttl` / `profile-ttn` event per row enters
 * the pipeline through `raw`, for belts that take those types. Published before the commit: a
 * retry publishes again, and the events' deterministic ids make the repeat a no-op downstream.
 */
export async function reapPage(pool: Pool, producer: ResilientProducer, rawTopic: string, bucket: number): Promise<ReapedPage> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<Row>(
      `SELECT profile_id, path, kind, due_at, stamp_in, stamp_eid FROM expirations WHERE bucket = $1
        ORDER BY profile_id, path, kind, stamp_eid LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [bucket, PAGE],
    );
    if (rows.length === 0) return { expired: 0, notified: 0, taken: 0 };
    const states = await lockProfiles(
      client,
      rows.filter((r) => r.kind === 'ttl').map((r) => r.profile_id),
    );
    const changed = new Set<string>();
    const changes: ChangeMessage[] = [];
    const events: Record<'ttl' | 'ttn', unknown[]> = { ttl: [], ttn: [] };
    for (const r of rows) {
      const expirationId = expirationEventId(r.kind, r.profile_id, r.path, r.stamp_eid);
      const base = { expirationId, profileId: r.profile_id, path: r.path, dueAt: r.due_at.getTime() };
      if (r.kind === 'ttn') {
        events.ttn.push(base);
        continue;
      }
      const state = states.get(r.profile_id);
      const expired = state ? expireValue(state, r.path, { in: r.stamp_in, eid: r.stamp_eid }) : undefined;
      if (!expired) continue;
      changed.add(r.profile_id);
      changes.push({ _schema: 'update_1', _operation: '_delete', _id: r.profile_id, _path: r.path, _reason: 'ttl' });
      events.ttl.push({ ...base, oldValue: expired.value as Json });
    }
    await writeProfiles(client, states, [...changed].sort());
    await queueChanges(client, changes);
    const now = Date.now();
    const messages = [
      ...expirationRecords(TTL_EVENT_TYPE, events.ttl, now),
      ...expirationRecords(TTN_EVENT_TYPE, events.ttn, now),
    ];
    if (messages.length > 0) await producer.send(rawTopic, messages);
    await client.query(
      `DELETE FROM expirations e USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS d(p, path, k, s)
        WHERE e.profile_id = d.p AND e.path = string_to_array(d.path, E'\\x1f') AND e.kind = d.k AND e.stamp_eid = d.s`,
      [rows.map((r) => r.profile_id), rows.map((r) => r.path.join('\x1f')), rows.map((r) => r.kind), rows.map((r) => r.stamp_eid)],
    );
    return { expired: events.ttl.length, notified: events.ttn.length, taken: rows.length };
  });
}
