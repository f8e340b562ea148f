import type { Pool, PoolClient } from 'pg';
import { lockMigrations, migrateProject } from '../db/migrate';
import { withTransaction } from '../db/pool';
import { quoteIdent } from '../db/sql';
import { DEFAULT_PROJECT, projectReaderRole, projectSchema } from './names';
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
    await dropReaderRole(client, name);
    return true;
  });
}

/**
 * Drops the project's SQL-console role with its schema. A project of the same name in another
 * database of the server (the tests', `npm start`'s) still holds grants to it: then it stays.
 */
async function dropReaderRole(client: PoolClient, name: string): Promise<void> {
  await client.query('SAVEPOINT drop_reader');
  try {
    await client.query(`DROP ROLE IF EXISTS ${quoteIdent(projectReaderRole(name))}`);
    await client.query('RELEASE SAVEPOINT drop_reader');
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT drop_reader');
  }
}
