/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it stops PostgreSQL.
 *
 * @stack exclusive
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { embeddedPasswordFile, loadConfig } from '../../src/config';
import { stackDown, stackUp } from '../../src/stack';
import { portAnswers } from '../../src/stack/procs';
import { paths, pgLayout } from '../../src/stack/services';

const PORT = 15439;

async function connects(url: string): Promise<true | string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A private embedded PostgreSQL (own folder, own port): a new data folder gets a random password
 * of its own, kept owner-only in BELTLINE_HOME, which every process finds through loadConfig().
 */
describe('embedded PostgreSQL password', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-pg-password-'));
  const env = { ...process.env, DATABASE_URL: undefined, BELTLINE_HOME: home, PGPORT_EMBEDDED: String(PORT) };
  const cfg = loadConfig(env);
  const p = paths(cfg);

  beforeAll(async () => {
    if (await portAnswers('127.0.0.1', PORT)) throw new Error(`port ${PORT} is taken: the private server needs it free`);
  });

  afterAll(async () => {
    await stackDown(cfg, { only: ['postgres'] });
    const pg = pgLayout(p);
    if (!pg.inHome) fs.rmSync(path.dirname(pg.dataDir), { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }, 60_000);

  it('initialises a new data folder with a random, owner-only password that loadConfig() reads', async () => {
    const file = embeddedPasswordFile(p.home);
    expect(fs.existsSync(file)).toBe(false);
    await stackUp(cfg, { only: ['postgres'] });

    const st = fs.statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.getuid?.());
    const password = fs.readFileSync(file, 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);

    // Every process gets the URL from loadConfig(); this one's was updated by `stack up`.
    const fresh = loadConfig(env);
    expect(new URL(fresh.databaseUrl).password).toBe(password);
    expect(cfg.databaseUrl).toBe(fresh.databaseUrl);
    expect(await connects(fresh.databaseUrl)).toBe(true);

    // The old fixed password no longer opens it (28P01: password authentication failed).
    const legacy = new URL(fresh.databaseUrl);
    legacy.password = 'beltline';
    expect(await connects(legacy.toString())).toBe('28P01');

    // A second `stack up` reuses the server and keeps the password.
    await stackUp(loadConfig(env), { only: ['postgres'] });
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(password);
  }, 120_000);
});
