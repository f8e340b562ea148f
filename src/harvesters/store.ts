import type { Pool } from 'pg';
import type { Harvester } from './definition';

export async function listHarvesters(pool: Pool, project: string): Promise<Harvester[]> {
  const { rows } = await pool.query<{ definition: Harvester }>('SELECT definition FROM harvesters WHERE project = $1 ORDER BY name', [project]);
  return rows.map((r) => r.definition);
}

export async function getHarvester(pool: Pool, project: string, name: string): Promise<Harvester | undefined> {
  const { rows } = await pool.query<{ definition: Harvester }>('SELECT definition FROM harvesters WHERE project = $1 AND name = $2', [project, name]);
  return rows[0]?.definition;
}

export async function createHarvester(pool: Pool, project: string, h: Harvester): Promise<boolean> {
  const { rowCount } = await pool.query('INSERT INTO harvesters (project, name, definition) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [project, h.name, h]);
  return rowCount === 1;
}

export async function updateHarvester(pool: Pool, project: string, h: Harvester): Promise<boolean> {
  const { rowCount } = await pool.query('UPDATE harvesters SET definition = $3, updated_at = now() WHERE project = $1 AND name = $2', [project, h.name, h]);
  return rowCount === 1;
}

export async function deleteHarvester(pool: Pool, project: string, name: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM harvesters WHERE project = $1 AND name = $2', [project, name]);
  return rowCount === 1;
}
