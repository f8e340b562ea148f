import { createPool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { loadConfig } from '../src/config';
import { stackUp } from '../src/stack';

/**
 * Integration tests run against the real local stack; `up` reuses services already running. The
 * schema is migrated here too: tests that use the stores directly must not depend on a beltline
 * process having started (and migrated) before them, whatever order jest picks.
 */
export default async function globalSetup(): Promise<void> {
  const cfg = loadConfig();
  await stackUp(cfg);
  // Read again: on a new data folder, `up` has just written the embedded server's password.
  const pool = createPool(loadConfig().databaseUrl, 1);
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
}
