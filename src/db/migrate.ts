import fs from 'node:fs/promises';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';
import { REPO_ROOT } from '../config';
import { listProjects, ensureRegistry } from '../projects/store';
import { DEFAULT_PROJECT, projectSchema } from '../projects/names';
import { quoteIdent } from './sql';
import { withTransaction } from './pool';

const MIGRATIONS_DIR = path.join(REPO_ROOT, 'migrations');
// Any constant works; it only has to be the same in every process that migrates.
const MIGRATION_LOCK = 7_214_233;

/** Serialises whatever changes schemas: migrations, and creating or dropping a project. */
export async function lockMigrations(client: PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
}

/**
 * Brings one project's schema up to date: the SQL files of migrations/ in name order, each once.
 * Every project's schema is made by the same files; `beltline.project` tells them whose it is
 * (built-in rows name their project). Runs in the caller's transaction, under lockMigrations.
 */
export async function migrateProject(client: PoolClient, project: string): Promise<string[]> {
  const files = (await fs.readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
  const schema = quoteIdent(projectSchema(project));
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await client.query(`SET LOCAL search_path TO ${schema}, public`);
  await client.query(`SELECT set_config('beltline.project', $1, true)`, [project]);
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    await client.query(await fs.readFile(path.join(MIGRATIONS_DIR, file), 'utf8'));
    await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
    applied.push(file);
  }
  return applied;
}

/**
 * The project registry, the default project (created by the first start, its tables the
 * `beltline` schema they always were), and every project's schema, migrated in one transaction.
 * An advisory lock lets several processes start at once without racing.
 */
export async function migrate(pool: Pool): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    await lockMigrations(client);
    await ensureRegistry(client);
    const applied = (await migrateProject(client, DEFAULT_PROJECT)).map((f) => `${DEFAULT_PROJECT}/${f}`);
    for (const p of await listProjects(client)) {
      if (p.name === DEFAULT_PROJECT) continue;
      applied.push(...(await migrateProject(client, p.name)).map((f) => `${p.name}/${f}`));
    }
    return applied;
  });
}
