import { createRequire } from 'node:module';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import { freshTopic, readAll } from '../support/kafka';

interface RequestQueueProto {
  checkPendingRequests(this: unknown): void;
}

/**
 * kafkajs 2.2.4 with beltline's fix of its idle loop, on the real broker: an idle connection stops
 * checking its queue, and requests that must wait their turn still all go out.
 */
describe('kafkajs connections at rest', () => {
  const cfg = loadConfig();
  const proto = (createRequire(__filename)('kafkajs/src/network/requestQueue') as { prototype: RequestQueueProto }).prototype;
  const original = proto.checkPendingRequests;
  let checks = 0;

  beforeAll(() => {
    proto.checkPendingRequests = function (this: unknown) {
      checks++;
      original.call(this);
    };
  });
  afterAll(() => {
    proto.checkPendingRequests = original;
  });

  it('checks nothing while idle, and sends every request queued behind the one in flight', async () => {
    const { topic } = await freshTopic('test-kafka-idle', 1);
    // src/kafka/kafkajs.ts installed the fix when it loaded; one request in flight at a time makes the others wait in the queue.
    const producer = createKafka(cfg, 'beltline-test-idle').producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] })));
      expect((await readAll(topic, 20)).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());

      // At rest: kafkajs 2.2.4 alone checked each connection's queue every millisecond (about 300 here).
      checks = 0;
      await new Promise((r) => setTimeout(r, 300));
      expect(checks).toBeLessThan(5);
    } finally {
      await producer.disconnect();
    }
  });
});
