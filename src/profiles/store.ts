import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { applyUpdate, type EventContext, type JsonObject, type ProfileState, type ProfileUpdate, type Stamp } from './semantics';

export interface PendingUpdate {
  update: ProfileUpdate;
  ctx: EventContext;
}

export interface ProfileRow {
  id: string;
  document: JsonObject;
  updatedAt: string;
}

/**
 * Loads and locks the profiles, creating missing ones. Ids are locked in sorted order so two
 * batches touching the same profiles queue behind each other instead of deadlocking.
 */
async function lockProfiles(client: PoolClient, ids: string[]): Promise<Map<string, ProfileState>> {
  const sorted = [...new Set(ids)].sort();
  await client.query('INSERT INTO profiles (id) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT (id) DO NOTHING', [sorted]);
  const { rows } = await client.query<{ id: string; document: JsonObject; stamps: Record<string, Stamp> }>(
    'SELECT id, document, stamps FROM profiles WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE',
    [sorted],
  );
  return new Map(rows.map((r) => [r.id, { document: r.document, stamps: r.stamps }]));
}

/** Applies updates inside the caller's transaction with one read and one write for all profiles. */
export async function applyUpdatesInTx(client: PoolClient, pending: PendingUpdate[]): Promise<number> {
  if (pending.length === 0) return 0;
  const states = await lockProfiles(
    client,
    pending.map((p) => p.update._id),
  );
  const changed = new Set<string>();
  for (const { update, ctx } of pending) {
    const state = states.get(update._id);
    if (state && applyUpdate(state, update, ctx)) changed.add(update._id);
  }
  const ids = [...changed].sort();
  if (ids.length > 0) {
    await client.query(
      `UPDATE profiles p SET document = v.document, stamps = v.stamps, updated_at = now()
         FROM (SELECT unnest($1::text[]) AS id, unnest($2::jsonb[]) AS document, unnest($3::jsonb[]) AS stamps) v
        WHERE p.id = v.id`,
      [ids, ids.map((id) => JSON.stringify(states.get(id)?.document)), ids.map((id) => JSON.stringify(states.get(id)?.stamps))],
    );
  }
  return ids.length;
}

export async function applyUpdates(pool: Pool, pending: PendingUpdate[]): Promise<number> {
  return withTransaction(pool, (client) => applyUpdatesInTx(client, pending));
}

export async function getProfile(pool: Pool, id: string): Promise<ProfileRow | null> {
  const { rows } = await pool.query<{ id: string; document: JsonObject; updated_at: Date }>(
    'SELECT id, document, updated_at FROM profiles WHERE id = $1',
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, document: r.document, updatedAt: r.updated_at.toISOString() } : null;
}

/** Current documents of many profiles in one query: the third argument belts get. */
export async function getDocuments(pool: Pool, ids: string[]): Promise<Map<string, JsonObject>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<{ id: string; document: JsonObject }>('SELECT id, document FROM profiles WHERE id = ANY($1::text[])', [
    [...new Set(ids)],
  ]);
  return new Map(rows.map((r) => [r.id, r.document]));
}
