import { Client } from 'pg';
import { loadConfig, type Config } from '../../src/config';
import { maintenanceUrl } from '../../src/stack/render';

/**
 * Drops a lane's own database on the embedded server, if it is there and the server is up.
 * Only a database the run owns: never one named by DATABASE_URL, never `npm start`'s.
 */
export async function dropTestDatabase(cfg: Config = loadConfig()): Promise<void> {
  if (!cfg.embeddedPostgres || cfg.BELTLINE_DATABASE === 'beltline') return;
  const client = new Client({ connectionString: maintenanceUrl(cfg.databaseUrl), connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch {
    return; // not running: `stack up` starts it and creates the database afresh
  }
  try {
    // FORCE: a beltline process a killed run left behind may still hold connections.
    await client.query(`DROP DATABASE IF EXISTS "${cfg.BELTLINE_DATABASE}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
