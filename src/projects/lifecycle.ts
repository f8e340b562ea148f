import type { Pool } from 'pg';
import { lockMigrations, migrateProject } from '../db/migrate';
import { withTransaction } from '../db/pool';
import { quoteIdent } from '../db/sql';
import { DEFAULT_PROJECT, projectSchema } from './names';
import { deleteProjectRow, getProject, insertProject, type IssuedKeys, type Project } from './store';

/**
 * Registers a project and makes its schema (every migration, in one transaction: a project is
 * there whole or not at all). Undefined when the name is taken. `instance` is any pool of the
 * database; the registry and the schemas are named explicitly.
 */
export async function createProject(
  instance: Pool,
  p: { name: string; displayName: string; requireWriteKey?: boolean },
): Promise<{ project: Project; keys: Required<IssuedKeys> } | undefined> {
  return withTransaction(instance, async (client) => {
    await lockMigrations(client);
    const made = await insertProject(client, { ...p, requireWriteKey: p.requireWriteKey ?? false });
    if (!made) return undefined;
    await migrateProject(client, p.name);
    return made;
  });
}

/** Unregisters a project and drops its schema with every table in it. False for an unknown one. */
export async function dropProject(instance: Pool, name: string): Promise<boolean> {
  if (name === DEFAULT_PROJECT) throw new Error('the default project cannot be deleted');
  return withTransaction(instance, async (client) => {
    await lockMigrations(client);
    if (!(await getProject(client, name))) return false;
    await deleteProjectRow(client, name);
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(projectSchema(name))} CASCADE`);
    return true;
  });
}
