import fs from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../config';
import { SCHEMA, withTransaction } from './pool';

const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 7_214_233;

/**
 * Applies the SQL files of migrations/ in name order, each once, in one transaction each.
 * An advisory lock lets several processes start at once without racing.
 */
export async function migrate(pool: Pool): Promise<string[]> {
  const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await client.query(`SET LOCAL search_path TO ${SCHEMA}, public`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await client.query(await fs.readFile(path.join(MIGRATIONS_DIR, file), 'utf8'));
      await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
      applied.push(file);
    }
    return applied;
  });
}
