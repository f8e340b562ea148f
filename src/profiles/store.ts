import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { profileCacheLookups } from '../metrics';
import type { CachedProfile, ProfileCache, WrittenProfiles } from './cache';
import type { ChangeMessage, WrittenChanges } from './outbox';
import { registrationBucket } from '../expiry/buckets';
import {
  applyUpdate,
  mergeStates,
  noEffects,
  type EventContext,
  type HistoryEntry,
  type Json,
  type JsonObject,
  type ProfileState,
  type ProfileUpdate,
  type Scheduled,
  type Stamp,
  UpdateError,
} from './semantics';

export interface PendingUpdate {
  update: ProfileUpdate;
  ctx: EventContext;
  /** The belt that made it, for recording a refusal. */
  belt?: string;
}

export interface Refusal {
  eventId: string;
  belt?: string;
  reason: string;
}

export interface ProfileRow {
  id: string;
  document: JsonObject;
  updatedAt: string;
}

export interface Applied {
  /** Profiles whose document changed. */
  profiles: number;
  /** Updates that changed something, for the change stream. */
  changes: number;
  /** Buckets that now hold expirations: each needs its reaper. */
  buckets: number[];
  /** Updates refused: a link between two authenticated profiles, or a malformed update (a path reaching the object prototype). */
  refused: Refusal[];
  /** The change-stream outbox row this wrote and its messages (null when nothing changed): publish it after the commit. */
  outbox: WrittenChanges | null;
  /** The states the profiles' rows now hold (null when none changed): for ProfileCache.remember, after the commit. */
  written: WrittenProfiles | null;
}

interface Locked {
  states: Map<string, ProfileState>;
  /** id → the profile its updates go to (itself unless linked). */
  canonical: Map<string, string>;
  known: Set<string>;
}

/**
 * Loads and locks the profiles, creating missing ones. Ids are locked in sorted order so two
 * batches touching the same profiles queue behind each other instead of deadlocking.
 */
export async function lockProfiles(client: PoolClient, ids: string[]): Promise<Map<string, ProfileState>> {
  return (await lockGraph(client, ids)).states;
}

interface LockedRow {
  id: string;
  /** Null only from LOCK_KNOWN, for a row still at the version the cache holds. */
  document: JsonObject | null;
  stamps: Record<string, Stamp> | null;
  canonical_id: string | null;
  known: boolean;
}

/**
 * Creates the missing profiles, then locks them with the ones they are linked to, all in id
 * order: a concurrent batch creating the same ids waits for this one instead of taking them in
 * another order. Both happen in lock_profiles (migration 016), in one round trip. (Locking the
 * existing ones and creating the missing ones in one statement deadlocked under concurrent
 * batches: a statement's CTEs run in no fixed order.) The linked ids go through an array rather
 * than `OR id IN (subquery)`, which PostgreSQL answered with a sequential scan of the whole table.
 */
const CREATE_AND_LOCK = `SELECT id, document, stamps, canonical_id, known FROM lock_profiles($1::text[])`;

/**
 * The same for a worker that remembers what it wrote (migration 019): ids in `known` are only
 * locked, and their document and stamps come back only if the row changed since.
 */
const LOCK_KNOWN = `SELECT id, document, stamps, canonical_id, known FROM lock_profiles($1::text[], $2::text[], $3::text[])`;

/**
 * Locks the profiles and the ones they are linked to. A link committed by a concurrent batch
 * while this one waited for a lock can point to a profile not read yet: those are read and locked
 * in a further round, so no update is applied to (or dropped for) a profile not held. With a
 * cache, the first round sends the versions it holds; a remembered profile deleted since comes
 * back in no row and is created in the next round.
 */
async function lockGraph(client: PoolClient, ids: string[], cache?: ProfileCache): Promise<Locked> {
  const locked: Locked = { states: new Map(), canonical: new Map(), known: new Set() };
  let wanted = [...new Set(ids)].sort();
  for (let round = 0; wanted.length > 0 && round < 5; round++) {
    let rows: LockedRow[];
    // Taken out of the cache: this batch owns those states until it commits (see ProfileCache).
    const held = new Map<string, CachedProfile>();
    if (cache && round === 0) {
      const fresh: string[] = [];
      for (const id of wanted) {
        const entry = cache.take(id);
        if (entry) held.set(id, entry);
        else fresh.push(id);
      }
      const heldIds = [...held.keys()];
      ({ rows } = await client.query<LockedRow>({
        name: 'beltline-profiles-lock-known',
        text: LOCK_KNOWN,
        values: [fresh, heldIds, heldIds.map((id) => (held.get(id) as CachedProfile).version)],
      }));
      const hits = rows.filter((r) => r.document === null).length;
      profileCacheLookups.inc({ result: 'hit' }, hits);
      profileCacheLookups.inc({ result: 'stale' }, held.size - hits);
      profileCacheLookups.inc({ result: 'miss' }, fresh.length);
    } else {
      // Ids of later rounds are link targets, profiles that exist: creating them is a no-op.
      ({ rows } = await client.query<LockedRow>({ name: 'beltline-profiles-lock', text: CREATE_AND_LOCK, values: [wanted] }));
    }
    for (const r of rows) {
      locked.states.set(r.id, stateOf(r, held));
      locked.canonical.set(r.id, r.canonical_id ?? r.id);
      if (r.known) locked.known.add(r.id);
    }
    const next = new Set<string>();
    for (const id of wanted) if (!locked.states.has(id)) next.add(id);
    for (const id of locked.canonical.values()) if (!locked.states.has(id)) next.add(id);
    wanted = [...next].sort();
  }
  if (wanted.length > 0) throw new Error(`profile links did not settle while locking ${wanted.join(', ')}; retrying the batch`);
  return locked;
}

/** A locked row's state: as read, or (a row still at the version the cache held) the cache's. */
function stateOf(r: LockedRow, held: ReadonlyMap<string, CachedProfile>): ProfileState {
  if (r.document !== null && r.stamps !== null) return { document: r.document, stamps: r.stamps };
  const entry = held.get(r.id);
  if (!entry) throw new Error(`profile ${r.id} came back without its document`);
  return entry.state;
}

/** A profile's new document and stamps, as the write statement reads them. */
interface ProfileWrite {
  id: string;
  d: JsonObject | undefined;
  s: Record<string, Stamp> | undefined;
}

const profileWrites = (states: Map<string, ProfileState>, ids: string[]): ProfileWrite[] =>
  ids.map((id) => ({ id, d: states.get(id)?.document, s: states.get(id)?.stamps }));

/** A batch's change messages as one outbox value, or null (no row) when there are none. */
const outboxValue = (changes: readonly ChangeMessage[]): string | null => (changes.length === 0 ? null : JSON.stringify(changes));

// Each kind of row travels as one JSON parameter: node-postgres escapes every element of a
// jsonb[] parameter in JavaScript, which cost more than running the statements.
// `updated_at` is when the row was written (clock_timestamp()), not when the transaction began.
// The rows exist and are locked, so this always updates; written as an upsert it finds each row by
// its key, where UPDATE … FROM joined, and on a table of 10,000 profiles PostgreSQL chose to hash
// the whole table (13 of the statement's 18 ms for 500 rows).
const WRITE_PROFILES = `INSERT INTO profiles AS p (id, document, stamps) SELECT x.id, x.d, x.s FROM jsonb_to_recordset($1::jsonb) AS x(id text, d jsonb, s jsonb)
    ON CONFLICT (id) DO UPDATE SET document = excluded.document, stamps = excluded.stamps, updated_at = clock_timestamp()`;
// One row per batch, its messages as json (kept as text): they are only read back to be sent.
const insertChanges = (param: string): string =>
  `INSERT INTO profile_changes (messages) SELECT ${param}::json WHERE ${param}::json IS NOT NULL RETURNING id`;
const INSERT_HISTORY = `INSERT INTO profile_history (profile_id, path, value, valid_from, event_id, replaced_by)
    SELECT x.p, string_to_array(x.path, E'\\x1f'), x.v, to_timestamp(x.t / 1000.0), x.e, x.r
      FROM jsonb_to_recordset($3::jsonb) AS x(p text, path text, v jsonb, t float8, e text, r text)
    ON CONFLICT DO NOTHING`;
const INSERT_EXPIRATIONS = `INSERT INTO expirations (profile_id, path, kind, due_at, bucket, stamp_in, stamp_eid)
    SELECT x.p, string_to_array(x.path, E'\\x1f'), x.k, to_timestamp(x.d / 1000.0), x.b, x.si, x.se
      FROM jsonb_to_recordset($4::jsonb) AS x(p text, path text, k text, d float8, b bigint, si float8, se text)
    ON CONFLICT DO NOTHING`;

/**
 * All a batch writes, in one statement and one round trip: documents, the change-stream outbox,
 * history and expirations, each a data-modifying CTE over its own parameter.
 */
// The rows' new version (xmin) is for the cache; the reaper's writeProfiles has no use for it.
const WRITE_BATCH = `WITH w AS (${WRITE_PROFILES} RETURNING p.xmin::text AS version), c AS (${insertChanges('$2')}), h AS (${INSERT_HISTORY}), e AS (${INSERT_EXPIRATIONS})
  SELECT (SELECT id FROM c) AS outbox, (SELECT version FROM w LIMIT 1) AS version`;

const PATH_SEPARATOR = '\x1f';

export async function writeProfiles(client: PoolClient, states: Map<string, ProfileState>, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query({ name: 'beltline-profiles-write', text: WRITE_PROFILES, values: [JSON.stringify(profileWrites(states, ids))] });
}

/** Queues change-stream messages in the outbox, inside the caller's transaction; the row's id, or null. */
export async function queueChanges(client: PoolClient, changes: ChangeMessage[]): Promise<string | null> {
  if (changes.length === 0) return null;
  const { rows } = await client.query<{ id: string }>({ name: 'beltline-profiles-changes', text: insertChanges('$1'), values: [outboxValue(changes)] });
  return rows[0].id;
}

/**
 * Applies updates inside the caller's transaction with one read and one write for all profiles,
 * and records what follows from them (history, change stream, expirations) in the same transaction.
 */
export async function applyUpdatesInTx(client: PoolClient, pending: PendingUpdate[], bucketMs: number, cache?: ProfileCache): Promise<Applied> {
  if (pending.length === 0) return { profiles: 0, changes: 0, buckets: [], refused: [], outbox: null, written: null };
  const targets = pending.flatMap((p) => (p.update._operation === '_link' ? [String(p.update._value?._v)] : []));
  const graph = await lockGraph(client, [...pending.map((p) => p.update._id), ...targets], cache);
  const { states, canonical, known } = graph;
  const changed = new Set<string>();
  const linked = new Map<string, string>();
  const refused: Refusal[] = [];
  const changes: ChangeMessage[] = [];
  const history: (HistoryEntry & { profileId: string })[] = [];
  const schedule: (Scheduled & { profileId: string })[] = [];
  const resolve = (id: string): string => canonical.get(id) ?? id;
  for (const { update, ctx, belt } of pending) {
    if (update._operation === '_link') {
      const from = resolve(update._id);
      const to = resolve(String(update._value?._v));
      if (from === to) continue;
      if (known.has(from)) {
        refused.push({ eventId: ctx.eventId, belt, reason: `cannot link ${update._id} to ${String(update._value?._v)}: both profiles are authenticated; they are kept apart` });
        continue;
      }
      // The anonymous profile's history moves into the authenticated one, by the same rules.
      mergeStates(states.get(to) as ProfileState, states.get(from) as ProfileState);
      states.set(from, { document: {}, stamps: {} });
      known.add(to);
      for (const [id, c] of canonical) if (c === from || id === from) canonical.set(id, to);
      linked.set(from, to);
      changed.add(from).add(to);
      changes.push({ _schema: 'update_1', _operation: '_link', _id: update._id, _value: { _v: to } });
      continue;
    }
    const id = resolve(update._id);
    const state = states.get(id);
    const effects = noEffects();
    // Never drop an update: a profile not held is a bug, and the batch is retried.
    if (!state) throw new Error(`profile ${id} was not locked for ${update._id}`);
    let won: boolean;
    try {
      won = applyUpdate(state, update, ctx, effects);
    } catch (err) {
      // A malformed update (a path that would reach the object prototype, an unreadable _in) is
      // refused for its event alone; applyUpdate checks before it changes anything.
      if (!(err instanceof UpdateError)) throw err;
      refused.push({ eventId: ctx.eventId, belt, reason: `update refused: ${err.message}` });
      continue;
    }
    // A write that lost still goes to the history of a path kept with history.
    history.push(...effects.history.map((h) => ({ ...h, profileId: id })));
    if (!won) continue;
    changed.add(id);
    changes.push({ _schema: 'update_1', _operation: update._operation ?? '_set', ...update, _id: id });
    schedule.push(...effects.schedule.map((s) => ({ ...s, profileId: id })));
  }
  const now = Date.now();
  const buckets = schedule.map((r) => registrationBucket(r.dueAt, now, bucketMs));
  const writtenIds = [...changed].sort();
  const { rows } = await client.query<{ outbox: string | null; version: string | null }>({
    name: 'beltline-profiles-apply',
    text: WRITE_BATCH,
    values: [
      JSON.stringify(profileWrites(states, writtenIds)),
      outboxValue(changes),
      JSON.stringify(history.map((h) => ({ p: h.profileId, path: h.path.join(PATH_SEPARATOR), v: h.value ?? null, t: h.in, e: h.eid, r: h.replacedBy }))),
      JSON.stringify(schedule.map((r, i) => ({ p: r.profileId, path: r.path.join(PATH_SEPARATOR), k: r.kind, d: r.dueAt, b: buckets[i], si: r.stamp.in, se: r.stamp.eid }))),
    ],
  });
  if (linked.size > 0) {
    await client.query(
      `UPDATE profiles p SET canonical_id = l.to_id FROM unnest($1::text[], $2::text[]) AS l(from_id, to_id)
        WHERE p.id = l.from_id OR p.canonical_id = l.from_id`,
      [[...linked.keys()], [...linked.values()]],
    );
    await client.query('UPDATE profiles SET known = true WHERE id = ANY($1::text[])', [[...new Set(linked.values())]]);
  }
  const { version } = rows[0];
  return {
    profiles: changed.size,
    changes: changes.length,
    buckets: [...new Set(buckets)],
    refused,
    outbox: rows[0].outbox === null ? null : { id: rows[0].outbox, messages: changes },
    written: version === null ? null : { version, profiles: new Map(writtenIds.map((id) => [id, states.get(id) as ProfileState])) },
  };
}

/** Applies updates in a transaction of their own; with a cache, it learns what was written once that commits. */
export async function applyUpdates(pool: Pool, pending: PendingUpdate[], bucketMs: number, cache?: ProfileCache): Promise<Applied> {
  const applied = await withTransaction(pool, (client) => applyUpdatesInTx(client, pending, bucketMs, cache));
  cache?.remember(applied.written);
  return applied;
}

/** A profile by id; an id linked to another profile reads that one (its id says which). */
export async function getProfile(pool: Pool, id: string): Promise<ProfileRow | null> {
  const { rows } = await pool.query<{ id: string; document: JsonObject; updated_at: Date }>(
    `SELECT c.id, c.document, c.updated_at FROM profiles p JOIN profiles c ON c.id = coalesce(p.canonical_id, p.id) WHERE p.id = $1`,
    [id],
  );
  const r = rows[0];
  return r ? { id: r.id, document: r.document, updatedAt: r.updated_at.toISOString() } : null;
}

export interface HistoryRow {
  path: string[];
  value: Json;
  validFrom: string;
  eventId: string;
  replacedBy: string;
}

export async function getHistory(pool: Pool | PoolClient, id: string): Promise<HistoryRow[]> {
  const { rows } = await pool.query<{ path: string[]; value: Json; valid_from: Date; event_id: string; replaced_by: string }>(
    'SELECT path, value, valid_from, event_id, replaced_by FROM profile_history WHERE profile_id = $1 ORDER BY path, valid_from, event_id',
    [id],
  );
  return rows.map((r) => ({ path: r.path, value: r.value, validFrom: r.valid_from.toISOString(), eventId: r.event_id, replacedBy: r.replaced_by }));
}

/** Profiles whose value at `path` equals `value` (e.g. the profile of an email address). */
export async function findByPath(pool: Pool, path: string[], value: Json, limit: number): Promise<ProfileRow[]> {
  const { rows } = await pool.query<{ id: string; document: JsonObject; updated_at: Date }>(
    'SELECT id, document, updated_at FROM profiles WHERE document #> $1::text[] = $2::jsonb ORDER BY id LIMIT $3',
    [path, JSON.stringify(value), limit],
  );
  return rows.map((r) => ({ id: r.id, document: r.document, updatedAt: r.updated_at.toISOString() }));
}

/** Current documents of many profiles in one query: the third argument belts get. */
export async function getDocuments(pool: Pool, ids: string[]): Promise<Map<string, JsonObject>> {
  if (ids.length === 0) return new Map();
  // Keyed by the id asked for; a linked id gets the profile it is linked to.
  const { rows } = await pool.query<{ id: string; document: JsonObject }>(
    'SELECT p.id, c.document FROM profiles p JOIN profiles c ON c.id = coalesce(p.canonical_id, p.id) WHERE p.id = ANY($1::text[])',
    [[...new Set(ids)]],
  );
  return new Map(rows.map((r) => [r.id, r.document]));
}
