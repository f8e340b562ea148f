import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config';
import { freshTopic, readAll } from '../support/kafka';

const DIST = path.join(REPO_ROOT, 'dist', 'src');

/**
 * A node process as beltline's run (jest's module registry ignores require.cache, so the grouping
 * fix can only be seen in one): `body` runs after `before`, with `door` the loaded
 * src/kafka/kafkajs.ts, and prints what it returns as JSON.
 */
function inNode(body: string, before = ''): Record<string, unknown> {
  const script = `(async () => {
    ${before}
    const door = require(${JSON.stringify(path.join(DIST, 'kafka', 'kafkajs.js'))});
    const fix = require(${JSON.stringify(path.join(DIST, 'kafka', 'grouping-fix.js'))});
    const sendMessages = require.cache[require.resolve('kafkajs/src/producer/sendMessages.js')];
    const usesFix = sendMessages.children.some((c) => c.exports === fix.groupMessagesPerPartition);
    const out = await (async () => { ${body} })();
    console.log(JSON.stringify({ linearGrouping: door.linearGrouping, idleLoopFixed: door.idleLoopFixed, usesFix, ...out }));
  })().catch((e) => { console.error(e); process.exit(1); });`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`node exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}

/** kafkajs 2.2.4 through beltline's door, in a process of its own and on the real broker. */
describe('kafkajs through src/kafka/kafkajs.ts', () => {
  it("groups a send's messages with the linear function, and every message reaches its partition in order", async () => {
    const { topic } = await freshTopic('test-kafkajs-door', 2);
    const n = 3000;
    const out = inNode(`
      const { createKafka } = require(${JSON.stringify(path.join(DIST, 'kafka', 'producer.js'))});
      const { loadConfig } = require(${JSON.stringify(path.join(DIST, 'config.js'))});
      const producer = createKafka(loadConfig(), 'beltline-test-door').producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      // One send: kafkajs groups all ${n} messages at once, some keyless (round-robin).
      const messages = Array.from({ length: ${n} }, (_, i) => ({ key: i % 10 === 0 ? null : 'k' + (i % 40), value: (i % 10 === 0 ? '-' : 'k' + (i % 40)) + ':' + i }));
      await producer.send({ topic: ${JSON.stringify(topic)}, acks: -1, messages });
      await producer.disconnect();
      return {};`);
    expect(out).toEqual({ linearGrouping: true, idleLoopFixed: true, usesFix: true });

    const values = await readAll(topic, n);
    expect(values).toHaveLength(n);
    expect(new Set(values).size).toBe(n);
    // A key's messages share a partition, so they arrive in the order sent.
    const last = new Map<string, number>();
    for (const v of values) {
      const [key, seq] = v.split(':');
      if (key === '-') continue;
      expect(Number(seq)).toBeGreaterThan(last.get(key) ?? -1);
      last.set(key, Number(seq));
    }
  });

  it('leaves a kafkajs loaded before it as it is, and says so', () => {
    expect(inNode('return {};', "require('kafkajs');")).toEqual({ linearGrouping: false, idleLoopFixed: true, usesFix: false });
  });
});
