import type { Pool } from 'pg';
import { quoteIdent } from './sql';

/** The CRUD of a table of named definitions kept whole as jsonb: `(project, name, definition, updated_at)`. */
export interface DefinitionTable<T extends { name: string }> {
  list(pool: Pool, project: string): Promise<T[]>;
  get(pool: Pool, project: string, name: string): Promise<T | undefined>;
  /** False when the name exists already. */
  create(pool: Pool, project: string, def: T): Promise<boolean>;
  /** False when there is no such name. */
  update(pool: Pool, project: string, def: T): Promise<boolean>;
  remove(pool: Pool, project: string, name: string): Promise<boolean>;
}

export function definitionTable<T extends { name: string }>(table: 'actions' | 'harvesters'): DefinitionTable<T> {
  const t = quoteIdent(table);
  return {
    async list(pool, project) {
      const { rows } = await pool.query<{ definition: T }>(`SELECT definition FROM ${t} WHERE project = $1 ORDER BY name`, [project]);
      return rows.map((r) => r.definition);
    },
    async get(pool, project, name) {
      const { rows } = await pool.query<{ definition: T }>(`SELECT definition FROM ${t} WHERE project = $1 AND name = $2`, [project, name]);
      return rows[0]?.definition;
    },
    async create(pool, project, def) {
      const { rowCount } = await pool.query(`INSERT INTO ${t} (project, name, definition) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [project, def.name, def]);
      return rowCount === 1;
    },
    async update(pool, project, def) {
      const { rowCount } = await pool.query(`UPDATE ${t} SET definition = $3, updated_at = now() WHERE project = $1 AND name = $2`, [project, def.name, def]);
      return rowCount === 1;
    },
    async remove(pool, project, name) {
      const { rowCount } = await pool.query(`DELETE FROM ${t} WHERE project = $1 AND name = $2`, [project, name]);
      return rowCount === 1;
    },
  };
}
