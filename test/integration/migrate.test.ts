import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { loadConfig, REPO_ROOT } from '../../src/config';
import { maintenanceUrl } from '../../src/stack/render';
import { assertBuilt } from '../support/beltline';

/** `beltline migrate`: what the Helm chart's hook Job and docker-compose's `migrate` service run. */

function migrateCli(databaseUrl: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js'), 'migrate'], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: databaseUrl, BELTLINE_LOG_LEVEL: 'warn' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('beltline migrate', () => {
  const cfg = loadConfig();
  // A database of this file's own, beside the run's: it must start empty.
  const database = `${cfg.BELTLINE_DATABASE}_migrate`.slice(0, 63);
  const url = new URL(cfg.databaseUrl);
  url.pathname = `/${database}`;
  const admin = new Client({ connectionString: maintenanceUrl(cfg.databaseUrl) });
  const files = fs.readdirSync(path.join(REPO_ROOT, 'migrations')).filter((f) => f.endsWith('.sql')).sort();

  beforeAll(async () => {
    assertBuilt();
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${database}"`);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  });

  it('applies every migration to an empty database once, then finds nothing to do', async () => {
    const first = migrateCli(url.toString());
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout.trim()).toBe(`applied ${files.length} migrations: ${files.map((f) => `default/${f}`).join(', ')}`);

    const db = new Client({ connectionString: url.toString() });
    await db.connect();
    try {
      const rows = (await db.query<{ name: string }>('SELECT name FROM beltline.schema_migrations ORDER BY name')).rows;
      expect(rows.map((r) => r.name)).toEqual(files);
      // The tables a role needs at start are there: the project registry names the default project.
      expect((await db.query<{ name: string }>('SELECT name FROM beltline__instance.projects')).rows.map((r) => r.name)).toContain('default');
    } finally {
      await db.end();
    }

    const again = migrateCli(url.toString());
    expect(again.status).toBe(0);
    expect(again.stdout.trim()).toBe('the schema is up to date');
  });

  it('names the database it could not reach, without its password, and exits 1', () => {
    // A port of this file's range where nothing listens.
    const r = migrateCli('postgres://beltline:s3cret-pw@127.0.0.1:18419/beltline');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('could not migrate postgres://beltline:***@127.0.0.1:18419/beltline: ');
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).not.toContain('s3cret-pw');
  });
});
