import type { Pool } from 'pg';
import { createPool } from '../db/pool';
import { projectSchema } from './names';

/**
 * One connection pool per project, its search_path the project's schema: every store function
 * works on whichever project's pool it is handed, unchanged, and a query can reach only the
 * tables of the project it was asked for. Pools are made on first use and kept small; idle
 * connections close by themselves (pg's idle timeout), so a quiet project holds none.
 */
export class ProjectPools {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly databaseUrl: string,
    private readonly max = 10,
  ) {}

  get(project: string): Pool {
    let pool = this.pools.get(project);
    if (!pool) {
      pool = createPool(this.databaseUrl, this.max, projectSchema(project));
      this.pools.set(project, pool);
    }
    return pool;
  }

  /** Closes a project's pool (the project was deleted). */
  async drop(project: string): Promise<void> {
    const pool = this.pools.get(project);
    this.pools.delete(project);
    await pool?.end();
  }

  async end(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.end()));
  }
}
