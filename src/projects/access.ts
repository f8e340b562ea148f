import type { Pool, PoolClient } from 'pg';
import { INSTANCE_SCHEMA } from './names';

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

interface Row {
  name: string;
  require_write_key: boolean;
  write_key_hash: string | null;
}

const SELECT = `SELECT name, require_write_key, write_key_hash FROM ${INSTANCE_SCHEMA}.projects`;

function toAccess(r: Row): ProjectAccess {
  return { name: r.name, requireWriteKey: r.require_write_key, ...(r.write_key_hash ? { writeKeyHash: Buffer.from(r.write_key_hash, 'hex') } : {}) };
}

export async function listProjectAccess(db: Pool | PoolClient): Promise<ProjectAccess[]> {
  return (await db.query<Row>(`${SELECT} ORDER BY name`)).rows.map(toAccess);
}

export async function getProjectAccess(db: Pool | PoolClient, name: string): Promise<ProjectAccess | undefined> {
  const { rows } = await db.query<Row>(`${SELECT} WHERE name = $1`, [name]);
  return rows[0] ? toAccess(rows[0]) : undefined;
}
