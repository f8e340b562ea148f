import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../src/config';
import { stackDown, stackStatus, stackUp } from '../../src/stack';
import { isAlive, portAnswers, readPid } from '../../src/stack/procs';
import { paths, pgLayout } from '../../src/stack/services';

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
    BELTLINE_RAW_PARTITIONS: '3',
  });
  const ports = [17233, 18233, 19092, 19093, 15432];
  const p = paths(cfg);
  const pidFiles = [path.join(p.run, 'temporal.pid'), path.join(p.run, 'kafka.pid'), pgLayout(p).pidFile];

  beforeAll(async () => {
    for (const port of ports) {
      if (await portAnswers('127.0.0.1', port)) throw new Error(`port ${port} is taken: the private stack needs it free`);
    }
  });

  afterAll(async () => {
    await stackDown(cfg);
    const pg = pgLayout(p);
    // PostgreSQL lives in the temp folder when the postgres user cannot reach `home`.
    if (!pg.inHome) fs.rmSync(path.dirname(pg.dataDir), { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('starts all three services, reuses them on a second up, and down leaves no process', async () => {
    let t = Date.now();
    const first = await stackUp(cfg);
    const coldMs = Date.now() - t;
    expect(first.map((s) => [s.name, s.state])).toEqual([
      ['temporal', 'running'],
      ['kafka', 'running'],
      ['postgres', 'running'],
    ]);
    const pids = first.map((s) => s.pid as number);
    expect(pids.every((pid) => typeof pid === 'number' && isAlive(pid))).toBe(true);
    expect(pidFiles.map(readPid)).toEqual(pids);
    expect(first[0].uiUrl).toBe('http://127.0.0.1:18233');
    expect(first[2].endpoint).toBe('postgres://postgres:***@127.0.0.1:15432/beltline');

    // The topics exist, raw with the configured partitions.
    const admin = new Kafka({ brokers: cfg.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: ['raw', 'bad', 'profile-updates'] });
      expect(Object.fromEntries(meta.topics.map((m) => [m.name, m.partitions.length]))).toEqual({ raw: 3, bad: 1, 'profile-updates': 1 });
    } finally {
      await admin.disconnect();
    }

    t = Date.now();
    const second = await stackUp(cfg);
    const warmMs = Date.now() - t;
    expect(second.map((s) => s.pid)).toEqual(pids);
    expect(warmMs).toBeLessThan(10_000);
    expect((await stackStatus(cfg)).map((s) => [s.state, s.pid])).toEqual(pids.map((pid) => ['running', pid]));
    console.log(`private stack: up ${coldMs} ms, second up ${warmMs} ms`);

    await stackDown(cfg);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    for (const port of ports) expect(await portAnswers('127.0.0.1', port)).toBe(false);
    for (const file of pidFiles) expect(fs.existsSync(file)).toBe(false);
    expect((await stackStatus(cfg)).map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  }, 900_000);
});
