import { Pool, type PoolClient } from 'pg';

/** beltline's own tables live in this schema, apart from anything else in the database. */
export const SCHEMA = 'beltline';

export function createPool(databaseUrl: string, max = 10): Pool {
  const pool = new Pool({ connectionString: databaseUrl, max, options: `-c search_path=${SCHEMA},public` });
  // A client's error (the server restarted, a connection cut) must not crash the process: an idle
  // client's reaches the pool, a checked-out client's is emitted on the client itself, and an
  // 'error' event without a listener kills the process. The query in flight fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
