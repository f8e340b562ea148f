import { createPool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { loadConfig } from '../src/config';
import { stackUp } from '../src/stack';
import { dropTestDatabase } from './support/test-database';

/**
 * Integration tests run against the real local stack; `up` reuses services already running. They
 * get a fresh database of their own (see jest.config.js): one a killed run left behind is dropped
 * first, so no run sees another's belts, types or rows. The schema is migrated here too: tests
 * that use the stores directly must not depend on a beltline process having started first.
 */
export default async function globalSetup(): Promise<void> {
  await dropTestDatabase();
  const cfg = loadConfig();
  // `up` creates the database the configuration names.
  await stackUp(cfg);
  // Read again: on a new data folder, `up` has just written the embedded server's password.
  const pool = createPool(loadConfig().databaseUrl, 1);
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
}
