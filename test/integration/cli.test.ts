import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config';
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
