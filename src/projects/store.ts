import type { Pool, PoolClient } from 'pg';
import { DEFINITIONS_CHANNEL } from '../db/definitions-feed';
import { generateKey, hashKey, type KeyKind } from './keys';
import { DEFAULT_PROJECT, INSTANCE_SCHEMA, projectSchema } from './names';

const TABLE = `${INSTANCE_SCHEMA}.projects`;

/** A project as the registry holds it; keys only as hashes, so never shown again. */
export interface Project {
  name: string;
  displayName: string;
  /** The PostgreSQL schema with the project's tables. */
  schema: string;
  /** Whether the collector takes this project's events only with its write key. */
  requireWriteKey: boolean;
  hasAdminKey: boolean;
  hasWriteKey: boolean;
  createdAt: string;
}

/** Keys as created or rotated: shown this once. */
export interface IssuedKeys {
  adminKey?: string;
  writeKey?: string;
}

interface Row {
  name: string;
  display_name: string;
  schema_name: string;
  require_write_key: boolean;
  admin_key_hash: string | null;
  write_key_hash: string | null;
  created_at: Date;
}

function toProject(r: Row): Project {
  return {
    name: r.name,
    displayName: r.display_name,
    schema: r.schema_name,
    requireWriteKey: r.require_write_key,
    hasAdminKey: r.admin_key_hash !== null,
    hasWriteKey: r.write_key_hash !== null,
    createdAt: r.created_at.toISOString(),
  };
}

/** The registry's table, and the default project's row; run inside the migration transaction. */
export async function ensureRegistry(client: PoolClient): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${INSTANCE_SCHEMA}`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    name              text PRIMARY KEY,
    display_name      text NOT NULL,
    schema_name       text NOT NULL UNIQUE,
    require_write_key boolean NOT NULL DEFAULT false,
    admin_key_hash    text UNIQUE,
    write_key_hash    text UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now()
  )`);
  // Every change to a project (created, deleted, keys or settings) is heard on the definitions
  // feed as kind `project`, as definition tables report theirs (migration 015), whoever writes it.
  // Version 0: the registry has no version of its own; caches of it also reload periodically.
  await client.query(`CREATE OR REPLACE FUNCTION ${INSTANCE_SCHEMA}.notify_project_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE n text := CASE WHEN TG_OP = 'DELETE' THEN OLD.name ELSE NEW.name END;
    BEGIN
      PERFORM pg_notify('${DEFINITIONS_CHANNEL}', json_build_object('kind', 'project', 'project', n, 'name', n, 'version', 0)::text);
      RETURN NULL;
    END $$`);
  await client.query(`CREATE OR REPLACE TRIGGER projects_notify AFTER INSERT OR UPDATE OR DELETE ON ${TABLE}
    FOR EACH ROW EXECUTE FUNCTION ${INSTANCE_SCHEMA}.notify_project_change()`);
  await client.query(`INSERT INTO ${TABLE} (name, display_name, schema_name) VALUES ($1, 'Default project', $2) ON CONFLICT (name) DO NOTHING`, [
    DEFAULT_PROJECT,
    projectSchema(DEFAULT_PROJECT),
  ]);
}

const COLUMNS = 'name, display_name, schema_name, require_write_key, admin_key_hash, write_key_hash, created_at';

export async function listProjects(db: Pool | PoolClient): Promise<Project[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} ORDER BY name`)).rows.map(toProject);
}

export async function getProject(db: Pool | PoolClient, name: string): Promise<Project | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} WHERE name = $1`, [name]);
  return rows[0] ? toProject(rows[0]) : undefined;
}

/** Registers a project with fresh keys; undefined when the name is taken. The schema is made by the caller, in the same transaction. */
export async function insertProject(
  client: PoolClient,
  p: { name: string; displayName: string; requireWriteKey: boolean },
): Promise<{ project: Project; keys: Required<IssuedKeys> } | undefined> {
  const keys = { adminKey: generateKey('admin'), writeKey: generateKey('write') };
  const { rows } = await client.query<Row>(
    `INSERT INTO ${TABLE} (name, display_name, schema_name, require_write_key, admin_key_hash, write_key_hash)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [p.name, p.displayName, projectSchema(p.name), p.requireWriteKey, hashKey(keys.adminKey), hashKey(keys.writeKey)],
  );
  return rows[0] ? { project: toProject(rows[0]), keys } : undefined;
}

export async function deleteProjectRow(client: PoolClient, name: string): Promise<boolean> {
  return ((await client.query(`DELETE FROM ${TABLE} WHERE name = $1`, [name])).rowCount ?? 0) > 0;
}

/** New keys of the kinds asked for; the old ones stop opening anything at once. Undefined for an unknown project. */
export async function rotateKeys(db: Pool, name: string, kinds: readonly KeyKind[]): Promise<IssuedKeys | undefined> {
  const issued: IssuedKeys = {};
  if (kinds.includes('admin')) issued.adminKey = generateKey('admin');
  if (kinds.includes('write')) issued.writeKey = generateKey('write');
  const { rowCount } = await db.query(
    `UPDATE ${TABLE} SET admin_key_hash = coalesce($2, admin_key_hash), write_key_hash = coalesce($3, write_key_hash) WHERE name = $1`,
    [name, issued.adminKey ? hashKey(issued.adminKey) : null, issued.writeKey ? hashKey(issued.writeKey) : null],
  );
  return (rowCount ?? 0) > 0 ? issued : undefined;
}

/** The project whose key of `kind` this is, or undefined. */
export async function projectOfKey(db: Pool, key: string, kind: KeyKind): Promise<string | undefined> {
  const column = kind === 'admin' ? 'admin_key_hash' : 'write_key_hash';
  const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${TABLE} WHERE ${column} = $1`, [hashKey(key)]);
  return rows[0]?.name;
}

export async function setRequireWriteKey(db: Pool, name: string, require: boolean): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE ${TABLE} SET require_write_key = $2 WHERE name = $1`, [name, require]);
  return (rowCount ?? 0) > 0;
}


/**
 * What a collector needs to know of a project to take its events: that it exists, and whether
 * and with which key it takes them. The write key's hash is held in memory so that an accepted
 * request never waits on PostgreSQL (and is still accepted while PostgreSQL is down).
 */
export interface ProjectAccess {
  name: string;
  requireWriteKey: boolean;
  /** SHA-256 of the write key (hashKey), or undefined when the project has none. */
  writeKeyHash?: Buffer;
}

function toAccess(r: Row): ProjectAccess {
  return { name: r.name, requireWriteKey: r.require_write_key, ...(r.write_key_hash ? { writeKeyHash: Buffer.from(r.write_key_hash, 'hex') } : {}) };
}

export async function listProjectAccess(db: Pool | PoolClient): Promise<ProjectAccess[]> {
  return (await db.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} ORDER BY name`)).rows.map(toAccess);
}

export async function getProjectAccess(db: Pool | PoolClient, name: string): Promise<ProjectAccess | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} WHERE name = $1`, [name]);
  return rows[0] ? toAccess(rows[0]) : undefined;
}
