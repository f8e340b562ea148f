import { loadConfig } from '../../src/config';
import { createKafka, MAX_RECORD_BYTES, MAX_REQUEST_BYTES, RecordTooLargeError, ResilientProducer } from '../../src/kafka/producer';
import { registry } from '../../src/metrics';
import { ADMIN_KEY, startBeltline, type BeltlineProcess } from '../support/beltline';
import { freshTopic, readAll, recordCount } from '../support/kafka';
import { metric } from '../support/metrics';
import { sendEvents } from '../support/tracker';

const PRODUCE_REQUESTS = 'beltline_kafka_produce_requests_total';

describe('collector: concurrent requests share produce requests', () => {
  let beltline: BeltlineProcess;
  let topic: string;

  beforeAll(async () => {
    ({ topic } = await freshTopic('coalesce-test'));
    beltline = await startBeltline({ roles: ['collector'], port: 18092, env: { BELTLINE_RAW_TOPIC: topic } });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
  });

  const produceRequests = async (): Promise<number> => {
    const res = await fetch(`${beltline.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    return metric(await res.text(), PRODUCE_REQUESTS);
  };

  it('acknowledges every request once its own record is in Kafka, with fewer produce requests than HTTP requests', async () => {
    const trackers = 60;
    const before = await produceRequests();
    // Snowplow's tracker, many at once: each sends its events in one request or a few.
    const sent = await Promise.all(
      Array.from({ length: trackers }, (_, t) => sendEvents({ port: 18092, count: 5, userId: `coalesce-${t}`, bufferSize: 1 })),
    );
    const produced = (await produceRequests()) - before;

    // Each accepted request is one record: the topic holds the requests, with exactly the events acknowledged.
    const requests = await recordCount(topic);
    expect(requests).toBeGreaterThanOrEqual(trackers);
    const stored = (await readAll(topic, requests)).flatMap((v) => (JSON.parse(v) as { events: { eid: string }[] }).events.map((e) => e.eid));
    expect(stored.sort()).toEqual(sent.flat().sort());

    expect(produced).toBeGreaterThan(0);
    expect(produced).toBeLessThan(requests);
  }, 120_000);

  it('writes with an idempotent producer: every record batch carries a producer id and sequence, so a retried produce is not stored twice', async () => {
    await sendEvents({ port: 18092, count: 3, userId: 'idempotent', bufferSize: 1 });
    const n = await recordCount(topic);
    // What the broker stored: a non-idempotent producer writes producer id -1 and sequence -1.
    const contexts: { producerId: string; firstSequence: number }[] = [];
    const consumer = createKafka(loadConfig(), 'beltline-test').consumer({ groupId: `idempotence-${Date.now()}` });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          contexts.push((message as unknown as { batchContext: { producerId: string; firstSequence: number } }).batchContext);
        },
      });
      const deadline = Date.now() + 30_000;
      while (contexts.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    } finally {
      await consumer.disconnect();
    }
    expect(contexts.length).toBe(n);
    expect(contexts.filter((c) => c.producerId === '-1' || c.firstSequence < 0)).toEqual([]);
  }, 60_000);
});

describe('ResilientProducer.send', () => {
  const cfg = loadConfig();
  let producer: ResilientProducer;

  beforeAll(() => {
    producer = new ResilientProducer(createKafka(cfg, 'beltline-test-produce'));
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  const localProduceRequests = async (): Promise<number> => metric(await registry.metrics(), PRODUCE_REQUESTS, { client: 'beltline-test-produce' });

  it('sends many megabytes to one partition in requests Kafka accepts', async () => {
    // One partition: every message lands in the same record batch unless the send is cut.
    const { topic } = await freshTopic('chunk-test', 1);
    const messages = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: `${i}:${'x'.repeat(1000)}` }));
    const before = await localProduceRequests();
    await producer.send(topic, messages);
    expect(await recordCount(topic)).toBe(messages.length);
    expect((await localProduceRequests()) - before).toBeGreaterThanOrEqual(Math.ceil((3000 * 1000) / MAX_REQUEST_BYTES));
    const values = await readAll(topic, messages.length);
    expect(values).toEqual(messages.map((m) => m.value));
  }, 60_000);

  it('refuses a message too large for Kafka with RecordTooLargeError, sending nothing of the send', async () => {
    const { topic } = await freshTopic('too-large-test', 1);
    const huge = { key: 'big', value: 'x'.repeat(MAX_RECORD_BYTES + 1) };
    const err = await producer.send(topic, [{ value: 'small' }, huge]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RecordTooLargeError);
    expect(err).toMatchObject({ topic, index: 1, limit: MAX_RECORD_BYTES });
    expect((err as RecordTooLargeError).bytes).toBeGreaterThan(MAX_RECORD_BYTES);
    expect((err as Error).message).toMatch(/takes \d+ bytes/);
    expect(await recordCount(topic)).toBe(0);

    // enqueue (the collector's way) refuses it the same way
    await expect(producer.enqueue(topic, huge)).rejects.toBeInstanceOf(RecordTooLargeError);

    // a caller that parks it sends a stand-in, and the rest
    await producer.send<{ key?: string; value: string }>(topic, [{ value: 'small' }, huge], { oversized: (m, e) => ({ key: m.key, value: `parked: ${e.bytes} bytes` }) });
    expect(await readAll(topic, 2)).toEqual(['small', expect.stringMatching(/^parked: \d+ bytes$/)]);
  }, 60_000);
});
