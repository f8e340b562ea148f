import { createPool } from '../src/db/pool';
import { migrate } from '../src/db/migrate';
import { loadConfig } from '../src/config';
import { stackUp } from '../src/stack';
import { laneEnv, lanes } from './support/lanes';
import { dropTestDatabase } from './support/test-database';

/** Each lane's configuration; read anew, as `up` may have just written the embedded server's password. */
export function laneConfig(lane: number) {
  return loadConfig({ ...process.env, ...laneEnv(lane) });
}

/**
 * Integration tests run against the real local stack; `up` reuses services already running. Each
 * lane gets a fresh database of its own (see test/support/lanes.ts): one a killed run left behind
 * is dropped first, so no run sees another's belts, types or rows. `up` also creates the lane's
 * topics. The schema is migrated here too: tests that use the stores directly must not depend on a
 * beltline process having started first.
 */
export default async function globalSetup(): Promise<void> {
  for (let lane = 1; lane <= lanes(); lane++) {
    await dropTestDatabase(laneConfig(lane));
    // `up` creates the database and topics the configuration names.
    await stackUp(laneConfig(lane));
    const pool = createPool(laneConfig(lane).databaseUrl, 1);
    try {
      await migrate(pool);
    } finally {
      await pool.end();
    }
  }
}
