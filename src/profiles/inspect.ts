import type { Pool } from 'pg';
import { withTransaction } from '../db/pool';
import type { Json, JsonObject, Stamp } from './semantics';
import { getHistory, type HistoryRow } from './store';

/** One written path of a profile and the (time, event) that wrote it: what makes updates converge. */
export interface PathStamp {
  path: string[];
  /** When the value holds from (the update's `_in`), ISO-8601. */
  at: string;
  eventId: string;
  /** `value`: a path's own stamp; `element`: one element of a set at `path`. */
  kind: 'value' | 'element';
  /** For an element stamp, the element. */
  element?: Json;
  deleted: boolean;
  setOnce: boolean;
  withHistory: boolean;
}

const SET_PREFIX = 'set:';

/**
 * The stamps column, flattened for people: one row per path (and per set element), newest first.
 * Keys are JSON path arrays, or `set:` + one for a set's elements (see semantics.ts). Pure.
 */
export function flattenStamps(stamps: Record<string, unknown>): PathStamp[] {
  const out: PathStamp[] = [];
  for (const [key, raw] of Object.entries(stamps)) {
    if (key.startsWith(SET_PREFIX)) {
      const path = parsePath(key.slice(SET_PREFIX.length));
      if (!path || typeof raw !== 'object' || raw === null) continue;
      for (const [elementKey, st] of Object.entries(raw as Record<string, unknown>)) {
        if (!isStamp(st)) continue;
        out.push({ ...fromStamp(path, st), kind: 'element', element: parseElement(elementKey) });
      }
      continue;
    }
    const path = parsePath(key);
    if (path && isStamp(raw)) out.push(fromStamp(path, raw));
  }
  return out.sort((a, b) => b.at.localeCompare(a.at) || a.path.join('.').localeCompare(b.path.join('.')));
}

function fromStamp(path: string[], st: Stamp): PathStamp {
  // _set_once stamps hold negated time, so that the earliest of such writes wins (semantics.ts).
  const at = st.once ? -st.in : st.in;
  return { path, at: new Date(at).toISOString(), eventId: st.eid, kind: 'value', deleted: st.del === true, setOnce: st.once === true, withHistory: st.h === true };
}

function isStamp(v: unknown): v is Stamp {
  return typeof v === 'object' && v !== null && typeof (v as Stamp).in === 'number' && typeof (v as Stamp).eid === 'string';
}

function parsePath(key: string): string[] | undefined {
  try {
    const p = JSON.parse(key) as unknown;
    return Array.isArray(p) && p.every((k) => typeof k === 'string') ? (p as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function parseElement(key: string): Json {
  try {
    return JSON.parse(key) as Json;
  } catch {
    return key;
  }
}

export interface PendingExpiration {
  path: string[];
  kind: 'ttl' | 'ttn';
  dueAt: string;
}

export interface ProfileDetails {
  /** The profile read: an id linked to another reads that one. */
  id: string;
  /** The id asked for. */
  requested: string;
  document: JsonObject;
  updatedAt: string;
  /** Whether an authenticated id was ever linked to it (seed 001's `known`). */
  known: boolean;
  stamps: PathStamp[];
  /** The other ids linked to this profile (anonymous ids that `_link`ed to it). */
  linkedIds: string[];
  history: HistoryRow[];
  expirations: PendingExpiration[];
}

/** Everything the console shows of one profile, read in one snapshot (REPEATABLE READ). */
export async function getProfileDetails(pool: Pool, id: string): Promise<ProfileDetails | null> {
  return withTransaction(
    pool,
    async (client) => {
      const { rows } = await client.query<{ id: string; document: JsonObject; stamps: Record<string, unknown>; updated_at: Date; known: boolean }>(
        'SELECT c.id, c.document, c.stamps, c.updated_at, c.known FROM profiles p JOIN profiles c ON c.id = coalesce(p.canonical_id, p.id) WHERE p.id = $1',
        [id],
      );
      const p = rows[0];
      if (!p) return null;
      const linked = await client.query<{ id: string }>('SELECT id FROM profiles WHERE canonical_id = $1 AND id <> $1 ORDER BY id LIMIT 1000', [p.id]);
      const due = await client.query<{ path: string[]; kind: 'ttl' | 'ttn'; due_at: Date }>(
        'SELECT path, kind, min(due_at) AS due_at FROM expirations WHERE profile_id = $1 GROUP BY path, kind ORDER BY min(due_at), path LIMIT 1000',
        [p.id],
      );
      const history = await getHistory(client, p.id);
      return {
        id: p.id,
        requested: id,
        document: p.document,
        updatedAt: p.updated_at.toISOString(),
        known: p.known,
        stamps: flattenStamps(p.stamps),
        linkedIds: linked.rows.map((r) => r.id),
        history,
        expirations: due.rows.map((r) => ({ path: r.path, kind: r.kind, dueAt: r.due_at.toISOString() })),
      };
    },
    { readOnlySnapshot: true },
  );
}
