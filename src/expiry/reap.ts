import type { Pool } from 'pg';
import { withTransaction } from '../db/pool';
import type { ResilientProducer } from '../ingest/kafka';
import type { JsonRecord } from '../ingest/record';
import { expireValue, type Json } from '../profiles/semantics';
import { lockProfiles, queueChanges, writeProfiles } from '../profiles/store';
import { expirationEventId } from './buckets';

export const TTL_EVENT_TYPE = 'profile-ttl';
export const TTN_EVENT_TYPE = 'profile-ttn';
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
    const changes: { eventId: string; message: unknown }[] = [];
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
      changes.push({ eventId: expirationId, message: { _schema: 'update_1', _operation: '_delete', _id: r.profile_id, _path: r.path, _reason: 'ttl' } });
      events.ttl.push({ ...base, oldValue: expired.value as Json });
    }
    await writeProfiles(client, states, [...changed].sort());
    await queueChanges(client, changes);
    const records = (['ttl', 'ttn'] as const)
      .filter((k) => events[k].length > 0)
      .map((k): JsonRecord => ({ kind: 'json', collector: 'beltline-reaper', timestamp: Date.now(), eventType: k === 'ttl' ? TTL_EVENT_TYPE : TTN_EVENT_TYPE, events: events[k] }));
    if (records.length > 0) await producer.send(rawTopic, records.map((r) => ({ value: JSON.stringify(r) })));
    await client.query(
      `DELETE FROM expirations e USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS d(p, path, k, s)
        WHERE e.profile_id = d.p AND e.path = string_to_array(d.path, E'\\x1f') AND e.kind = d.k AND e.stamp_eid = d.s`,
      [rows.map((r) => r.profile_id), rows.map((r) => r.path.join('\x1f')), rows.map((r) => r.kind), rows.map((r) => r.stamp_eid)],
    );
    return { expired: events.ttl.length, notified: events.ttn.length, taken: rows.length };
  });
}
