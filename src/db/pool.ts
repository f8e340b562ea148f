import { DEFAULT_SCHEMA } from '../projects/names';
import { quoteIdent } from './sql';
import { Pool, type PoolClient } from 'pg';

/** The default project's tables live in this schema, apart from anything else in the database. */
export const SCHEMA = DEFAULT_SCHEMA;

/** A pool whose queries see `schema` (a project's tables) first: the default project's unless told. */
export function createPool(databaseUrl: string, max = 10, schema: string = SCHEMA): Pool {
  // A project name may hold "-": the schema is quoted (PostgreSQL parses the option like SET's value).
  const pool = new Pool({ connectionString: databaseUrl, max, options: `-c search_path=${quoteIdent(schema)},public` });
  // A client's error (the server restarted, a connection cut) must not crash the process: an idle
  // client's reaches the pool, a checked-out client's is emitted on the client itself, and an
  // 'error' event without a listener kills the process. The query in flight fails on its own.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  return pool;
}

/**
 * Runs `fn` in a transaction that ends however `fn` does, returns included: a connection given
 * back to the pool inside one hands it to its next user (a read-only snapshot left open by the
 * console's profile details made batches write into it and read old rows). A connection that
 * cannot roll back is closed, not reused. `readOnlySnapshot`: one REPEATABLE READ, READ ONLY view.
 */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>, opts: { readOnlySnapshot?: boolean } = {}): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query(opts.readOnlySnapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
