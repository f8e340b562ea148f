import type { Pool } from 'pg';
import { DefinitionCache, type DefinitionEvents } from '../db/definitions-feed';
import { withTransaction } from '../db/pool';
import { beltVersion, type BeltDefinition, type BeltRef } from './definition';

export interface BeltHead extends BeltRef {
  definition: BeltDefinition;
  /** 1 for the first version of a belt, then one more per change. */
  number: number;
  running: boolean;
  source: 'folder' | 'api';
}

/**
 * Stores a definition as a version (the same definition is the same version) and makes it the
 * head: new batches run it from now on, batches already running keep theirs.
 */
export async function putBelt(pool: Pool, def: BeltDefinition, source: 'folder' | 'api'): Promise<BeltHead> {
  return withTransaction(pool, async (client) => {
    // The version leaves out `scale` (how a belt runs, not what it does): a rescale keeps the
    // version and updates its stored definition.
    const version = beltVersion(def);
    // Numbering per belt name: serialise concurrent puts of the same belt.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`belt:${def.name}`]);
    await client.query(
      `INSERT INTO belts (name, version, definition, number)
       SELECT $1, $2, $3, coalesce(max(number), 0) + 1 FROM belts WHERE name = $1
       ON CONFLICT (name, version) DO UPDATE SET definition = excluded.definition
         WHERE belts.definition IS DISTINCT FROM excluded.definition`,
      [def.name, version, def],
    );
    const { rows } = await client.query<{ running: boolean; number: number }>(
      `INSERT INTO belt_heads (name, version, source) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, source = excluded.source, updated_at = now()
       RETURNING running, (SELECT number FROM belts WHERE name = $1 AND version = $2) AS number`,
      [def.name, version, source],
    );
    return { name: def.name, version, definition: def, number: rows[0].number, running: rows[0].running, source };
  });
}

/**
 * Registers the belts folder: its belts become heads, and folder belts no longer in it stop
 * receiving batches (their versions stay, for batches already running). A belt of the same name
 * defined through the API wins over the folder.
 */
export async function registerBelts(pool: Pool, defs: BeltDefinition[]): Promise<BeltRef[]> {
  await pool.query("DELETE FROM belt_heads WHERE source = 'folder' AND NOT (name = ANY($1::text[]))", [defs.map((d) => d.name)]);
  const { rows } = await pool.query<{ name: string }>("SELECT name FROM belt_heads WHERE source = 'api'");
  const api = new Set(rows.map((r) => r.name));
  const refs: BeltRef[] = [];
  for (const def of defs.filter((d) => !api.has(d.name))) {
    const head = await putBelt(pool, def, 'folder');
    refs.push({ name: head.name, version: head.version });
  }
  return refs;
}

const HEADS = `SELECT h.name, h.version, h.running, h.source, b.definition, b.number
                 FROM belt_heads h JOIN belts b USING (name, version)`;

export async function listBelts(pool: Pool): Promise<BeltHead[]> {
  return (await pool.query<BeltHead>(`${HEADS} ORDER BY h.name`)).rows;
}

export async function getBelt(pool: Pool, name: string): Promise<BeltHead | undefined> {
  return (await pool.query<BeltHead>(`${HEADS} WHERE h.name = $1`, [name])).rows[0];
}

export async function setBeltRunning(pool: Pool, name: string, running: boolean): Promise<boolean> {
  const { rowCount } = await pool.query('UPDATE belt_heads SET running = $2, updated_at = now() WHERE name = $1', [name, running]);
  return rowCount === 1;
}

/** Removes the belt from new batches; its versions stay for batches already running. */
export async function deleteBelt(pool: Pool, name: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM belt_heads WHERE name = $1', [name]);
  return rowCount === 1;
}

export async function listVersions(pool: Pool, name: string): Promise<{ version: string; number: number; createdAt: string }[]> {
  const { rows } = await pool.query<{ version: string; number: number; created_at: Date }>(
    'SELECT version, number, created_at FROM belts WHERE name = $1 ORDER BY number',
    [name],
  );
  return rows.map((r) => ({ version: r.version, number: r.number, createdAt: r.created_at.toISOString() }));
}

/**
 * A project's belt heads, held until a belt change is heard (putting, starting, stopping or
 * deleting a belt changes its head): a batch reads them from memory, not with a query of its own,
 * once `DefinitionsFeed.catchUp` has run. `pool` is the project's.
 */
export class BeltHeadCache extends DefinitionCache<BeltHead> {
  constructor(pool: Pool, feed: DefinitionEvents | undefined) {
    super({ kind: 'belt', all: () => listBelts(pool), one: (_project, name) => getBelt(pool, name), nameOf: (b) => b.name }, feed);
  }
}

/** The running heads that take any of these event types, by name. Pure. */
export function beltsTaking(heads: Iterable<BeltHead>, eventTypes: readonly string[]): BeltHead[] {
  const wanted = new Set(eventTypes);
  return [...heads].filter((h) => h.running && h.definition.eventTypes.some((t) => wanted.has(t))).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function loadBelt(pool: Pool, ref: BeltRef): Promise<BeltDefinition> {
  const { rows } = await pool.query<{ definition: BeltDefinition }>('SELECT definition FROM belts WHERE name = $1 AND version = $2', [
    ref.name,
    ref.version,
  ]);
  if (!rows[0]) throw new Error(`belt ${ref.name} version ${ref.version} is not registered`);
  return rows[0].definition;
}

/** One version of a belt with its definition, or undefined. */
export async function getVersion(pool: Pool, name: string, version: string): Promise<{ version: string; number: number; createdAt: string; definition: BeltDefinition } | undefined> {
  const { rows } = await pool.query<{ version: string; number: number; created_at: Date; definition: BeltDefinition }>(
    'SELECT version, number, created_at, definition FROM belts WHERE name = $1 AND version = $2',
    [name, version],
  );
  const r = rows[0];
  return r && { version: r.version, number: r.number, createdAt: r.created_at.toISOString(), definition: r.definition };
}
