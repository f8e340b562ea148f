import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { isAlive, portAnswers } from '../../src/stack/procs';
import { stackDown, stackStatus, stackUp } from '../../src/stack';
import { paths, pgDataDir } from '../../src/stack/services';

/**
 * A second, private stack (own folder, own ports) so that taking it down does not disturb the
 * stack the other tests share.
 */
describe('beltline stack up / down', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-stack-test-'));
  const cfg = loadConfig({
    ...process.env,
    DATABASE_URL: undefined,
    BELTLINE_HOME: home,
    TEMPORAL_ADDRESS: '127.0.0.1:17233',
    TEMPORAL_UI_PORT: '18233',
    KAFKA_BROKERS: '127.0.0.1:19092',
    KAFKA_CONTROLLER_PORT: '19093',
    PGPORT_EMBEDDED: '15432',
  });
  const ports = [17233, 18233, 19092, 19093, 15432];

  afterAll(async () => {
    await stackDown(cfg);
    // PostgreSQL's folder falls back to the temp folder when the postgres user cannot reach `home`.
    fs.rmSync(path.dirname(pgDataDir(paths(cfg))), { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('starts all three services, reuses them on a second up, and down leaves no process', async () => {
    const first = await stackUp(cfg);
    expect(first.map((s) => [s.name, s.state])).toEqual([
      ['temporal', 'running'],
      ['kafka', 'running'],
      ['postgres', 'running'],
    ]);
    const pids = first.map((s) => s.pid);
    expect(pids.every((p) => typeof p === 'number' && isAlive(p))).toBe(true);

    const second = await stackUp(cfg);
    expect(second.map((s) => s.pid)).toEqual(pids);
    expect((await stackStatus(cfg)).map((s) => s.state)).toEqual(['running', 'running', 'running']);

    await stackDown(cfg);
    for (const pid of pids) expect(isAlive(pid as number)).toBe(false);
    for (const port of ports) expect(await portAnswers('127.0.0.1', port)).toBe(false);
    expect((await stackStatus(cfg)).map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  }, 300_000);
});
