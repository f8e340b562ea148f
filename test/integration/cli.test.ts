import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, REPO_ROOT } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { PROJECT_NAME_RULE } from '../../src/projects/names';
import { Projects } from '../../src/projects/service';
import { assertBuilt } from '../support/beltline';

function beltline(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js'), ...args], { encoding: 'utf8', env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('beltline CLI: event types and harvesters', () => {
  const s = Date.now().toString(36);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-cli-'));
  const file = (name: string, body: unknown): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, JSON.stringify(body));
    return f;
  };

  beforeAll(() => assertBuilt());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates, lists, shows and deletes, and names the field of a bad definition', () => {
    const name = `cli-${s}`;
    expect(beltline('event-types', 'create', '--file', file('t.json', { name, displayName: 'CLI type', eventIdExpression: '$.id' })).stdout).toContain(`created event type ${name}`);
    expect(beltline('event-types', 'list').stdout).toMatch(new RegExp(`^${name}\\s+data_in\\s+CLI type$`, 'm'));
    expect(JSON.parse(beltline('event-types', 'get', name).stdout)).toMatchObject({ name, eventIdExpression: '$.id' });

    const bad = beltline('event-types', 'update', name, '--file', file('bad.json', { displayName: 'x', correlationIdExpression: 'user' }));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/correlationIdExpression/);

    const h = `cli-h-${s}`;
    expect(beltline('harvesters', 'create', '--file', file('h.json', { name: h, displayName: 'h', transform: 'return event;', eventType: name, running: false })).status).toBe(0);
    expect(beltline('harvesters', 'list').stdout).toMatch(new RegExp(`^${h}\\s+stopped\\s+collector`, 'm'));
    expect(beltline('harvesters', 'start', h).stdout).toContain('running');
    expect(beltline('harvesters', 'delete', h).status).toBe(0);

    expect(beltline('event-types', 'delete', name).stdout).toContain(`deleted event type ${name}`);
    const gone = beltline('event-types', 'get', name);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain('no event type');
    expect(beltline('event-types', 'delete', 'snowplow').status).toBe(1);
  }, 60_000);
});

describe('beltline CLI: projects', () => {
  const s = Date.now().toString(36);
  const shop = `cli-shop-${s}`;
  const other = `cli-other-${s}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-cli-projects-'));
  const cfg = loadConfig();
  const instance = createPool(cfg.databaseUrl, 1);
  const projects = new Projects(instance, cfg.databaseUrl, 1);
  const keysOf = (out: string): { admin?: string; write?: string } => ({
    admin: /^ {2}admin key {2}(\S+)$/m.exec(out)?.[1],
    write: /^ {2}write key {2}(\S+)$/m.exec(out)?.[1],
  });

  beforeAll(() => assertBuilt());
  afterAll(async () => {
    // Whatever a failed assertion left behind.
    for (const p of [shop, other]) await projects.drop(p).catch(() => undefined);
    await projects.end();
    await instance.end();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a project with keys shown once, lists, gets, rotates its keys and deletes it only with --confirm', async () => {
    const made = beltline('projects', 'create', shop, '--display-name', 'The shop', '--require-write-key');
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    expect(made.stdout).toContain(`created project ${shop} (PostgreSQL schema beltline_${shop})`);
    expect(made.stdout).toMatch(/shown once/);
    const keys = keysOf(made.stdout);
    expect(await projects.projectOfKey(keys.admin ?? '-', 'admin')).toBe(shop);
    expect(await projects.projectOfKey(keys.write ?? '-', 'write')).toBe(shop);

    const again = beltline('projects', 'create', shop);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists already');

    expect(beltline('projects', 'list').stdout).toMatch(new RegExp(`^${shop}\\s+beltline_${shop}\\s+The shop\\s+\\[admin key, write key \\(required\\)\\]$`, 'm'));
    const got = beltline('projects', 'get', shop);
    expect(JSON.parse(got.stdout)).toMatchObject({ name: shop, displayName: 'The shop', schema: `beltline_${shop}`, requireWriteKey: true });
    // Keys are never shown again.
    expect(got.stdout).not.toContain(keys.admin);

    const rotated = beltline('projects', 'rotate-keys', shop, '--admin');
    expect(rotated.status).toBe(0);
    expect(rotated.stdout).toMatch(/shown once/);
    const fresh = keysOf(rotated.stdout);
    expect(fresh.write).toBeUndefined();
    expect(await projects.projectOfKey(fresh.admin ?? '-', 'admin')).toBe(shop);
    expect(await projects.projectOfKey(keys.admin ?? '-', 'admin')).toBeUndefined();
    expect(await projects.projectOfKey(keys.write ?? '-', 'write')).toBe(shop);

    // The collector's write-key requirement is a setting: off, then on again.
    expect(beltline('projects', 'set', shop, '--no-require-write-key').stdout).toContain('without a key');
    expect(await projects.get(shop)).toMatchObject({ requireWriteKey: false });
    expect(beltline('projects', 'set', shop, '--require-write-key').status).toBe(0);
    expect(await projects.get(shop)).toMatchObject({ requireWriteKey: true });
    expect(beltline('projects', 'set', shop).status).toBe(2);

    const unconfirmed = beltline('projects', 'delete', shop);
    expect(unconfirmed.status).toBe(2);
    expect(unconfirmed.stderr).toContain(`schema beltline_${shop} and every table in it`);
    expect(unconfirmed.stderr).toContain('belt workers stop');
    expect(unconfirmed.stderr).toContain('--confirm');
    expect(await projects.exists(shop)).toBe(true);
    expect(beltline('projects', 'delete', 'default', '--confirm').status).toBe(2);

    expect(beltline('projects', 'delete', shop, '--confirm').stdout).toContain(`deleted project ${shop}`);
    expect(await projects.exists(shop)).toBe(false);
    const schemas = await instance.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [`beltline_${shop}`]);
    expect(schemas.rowCount).toBe(0);
    const gone = beltline('projects', 'get', shop);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain(`unknown project "${shop}"`);
  }, 60_000);

  it('refuses a hostile project name, naming the rule', () => {
    for (const args of [
      ['projects', 'create', 'Robert");DROP SCHEMA beltline;--'],
      ['event-types', 'list', '--project', '../default'],
    ]) {
      const r = beltline(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(PROJECT_NAME_RULE);
    }
    const env = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js'), 'belts', 'list'], {
      encoding: 'utf8',
      env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn', BELTLINE_PROJECT: 'Has Space' },
    });
    expect(env.status).toBe(2);
    expect(env.stderr).toContain(PROJECT_NAME_RULE);
  });

  it("--project reaches only that project's tables; an unknown project fails naming it", () => {
    expect(beltline('projects', 'create', other).status).toBe(0);
    const type = `cli-t-${s}`;
    const f = path.join(dir, 't.json');
    fs.writeFileSync(f, JSON.stringify({ name: type, displayName: 'In other', eventIdExpression: '$.id' }));
    expect(beltline('event-types', 'create', '--file', f, '--project', other).stdout).toContain(`created event type ${type}`);
    expect(beltline('event-types', 'list', '--project', other).stdout).toMatch(new RegExp(`^${type}\\s+data_in\\s+In other$`, 'm'));
    expect(beltline('event-types', 'list').stdout).not.toContain(type);
    expect(beltline('event-types', 'get', type).status).toBe(1);
    // The same name in the default project is another type.
    fs.writeFileSync(f, JSON.stringify({ name: type, displayName: 'In default', eventIdExpression: '$.id' }));
    expect(beltline('event-types', 'create', '--file', f).status).toBe(0);
    expect(JSON.parse(beltline('event-types', 'get', type, '--project', other).stdout)).toMatchObject({ displayName: 'In other' });
    expect(beltline('event-types', 'delete', type).status).toBe(0);

    const key = `iglu:com.example.cli${s}/t/jsonschema/1-0-0`;
    const schema = path.join(dir, 'schema.json');
    fs.writeFileSync(
      schema,
      JSON.stringify({
        $schema: 'http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#',
        self: { vendor: `com.example.cli${s}`, name: 't', format: 'jsonschema', version: '1-0-0' },
        type: 'object',
        properties: {},
      }),
    );
    expect(beltline('schemas', 'create', '--file', schema, '--project', other).stdout).toContain(`created schema ${key}`);
    expect(beltline('schemas', 'list', '--project', other).stdout.split('\n')).toContain(key);
    expect(beltline('schemas', 'get', key).status).toBe(1);

    // A rerun looks its belt up in the project's own tables (and would run there).
    const retry = beltline('belts', 'retry', 'any', '--project', other);
    expect(retry.status).toBe(1);
    expect(retry.stderr).toContain('no belt "any"');

    const unknown = beltline('belts', 'list', '--project', `cli-nope-${s}`);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`unknown project "cli-nope-${s}"`);

    expect(beltline('projects', 'delete', other, '--confirm').status).toBe(0);
  }, 60_000);
});

describe('bin/beltline', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-bin-'));
  beforeAll(() => assertBuilt());
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs through a chain of symlinks, relative and absolute, as npm link and npx make them', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.symlinkSync(path.join(REPO_ROOT, 'bin', 'beltline'), path.join(dir, 'beltline'));
    fs.symlinkSync('../beltline', path.join(dir, 'bin', 'beltline'));
    for (const link of [path.join(dir, 'beltline'), path.join(dir, 'bin', 'beltline')]) {
      const r = spawnSync(link, ['--version'], { encoding: 'utf8', cwd: os.tmpdir() });
      expect(r.stderr).toBe('');
      expect(r.stdout.trim()).toBe(version);
    }
  });
});
