import type { Pool } from 'pg';
import { withTransaction } from '../db/pool';
import { beltVersion, type BeltDefinition, type BeltRef } from './definition';

/**
 * Stores each definition as a version and makes it the head: new batches run it from now on.
 * The belts folder is the whole truth, so belts no longer in it stop receiving new batches
 * (their versions stay, for batches already running).
 */
export async function registerBelts(pool: Pool, defs: BeltDefinition[]): Promise<BeltRef[]> {
  return withTransaction(pool, async (client) => {
    await client.query('DELETE FROM belt_heads WHERE NOT (name = ANY($1::text[]))', [defs.map((d) => d.name)]);
    const refs: BeltRef[] = [];
    for (const def of defs) {
      const version = beltVersion(def);
      await client.query('INSERT INTO belts (name, version, definition) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [def.name, version, def]);
      await client.query(
        `INSERT INTO belt_heads (name, version) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, updated_at = now() WHERE belt_heads.version <> excluded.version`,
        [def.name, version],
      );
      refs.push({ name: def.name, version });
    }
    return refs;
  });
}

/** The head version of every belt that takes any of these event types. */
export async function beltsForEventTypes(pool: Pool, eventTypes: string[]): Promise<(BeltRef & { definition: BeltDefinition })[]> {
  if (eventTypes.length === 0) return [];
  const { rows } = await pool.query<{ name: string; version: string; definition: BeltDefinition }>(
    `SELECT h.name, h.version, b.definition FROM belt_heads h JOIN belts b USING (name, version)
      WHERE b.definition->'eventTypes' ?| $1::text[] ORDER BY h.name`,
    [eventTypes],
  );
  return rows;
}

export async function loadBelt(pool: Pool, ref: BeltRef): Promise<BeltDefinition> {
  const { rows } = await pool.query<{ definition: BeltDefinition }>('SELECT definition FROM belts WHERE name = $1 AND version = $2', [
    ref.name,
    ref.version,
  ]);
  if (!rows[0]) throw new Error(`belt ${ref.name} version ${ref.version} is not registered`);
  return rows[0].definition;
}
