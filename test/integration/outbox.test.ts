import crypto from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { createKafka, ResilientProducer } from '../../src/kafka/producer';
import { ChangePublisher, publishOutbox, publishWritten, type ChangeMessage } from '../../src/profiles/outbox';
import { testPool } from '../support/beltline';
import { freshTopic, readAll, recordCount } from '../support/kafka';

/**
 * The change stream's outbox on the real stack. A batch publishes its row after the commit; when
 * that send fails, the row stays unpublished and the sweeper's pass sends it: at least once. The rows live in a schema of the test's own: the workers of other tests sweep the lane's
 * outbox every few seconds and would publish (and mark) these rows themselves.
 */
describe('profile change outbox', () => {
  const cfg = loadConfig();
  const schema = `outbox_${crypto.randomBytes(4).toString('hex')}`;
  let admin: Pool;
  let pool: Pool;
  let working: ResilientProducer;
  let broken: ResilientProducer;

  beforeAll(async () => {
    admin = testPool();
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`CREATE TABLE ${schema}.profile_changes (LIKE beltline.profile_changes INCLUDING ALL)`);
    pool = new Pool({ connectionString: cfg.databaseUrl, max: 2, options: `-c search_path=${schema}` });
    working = new ResilientProducer(createKafka(cfg, 'beltline-test-outbox'));
    // Nothing listens on port 9 (discard): every connection is refused.
    broken = new ResilientProducer(createKafka({ ...cfg, kafkaBrokers: ['127.0.0.1:9'] }, 'beltline-test-outbox-broken'));
  });

  afterAll(async () => {
    await working?.disconnect();
    await broken?.disconnect().catch(() => undefined);
    await pool?.end();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
  });

  /** An outbox row as a batch's commit leaves it: its messages, not yet published. */
  const queued = async (messages: readonly ChangeMessage[]): Promise<string> =>
    (await pool.query<{ id: string }>('INSERT INTO profile_changes (messages) VALUES ($1) RETURNING id', [JSON.stringify(messages)])).rows[0].id;

  const published = async (id: string): Promise<boolean> =>
    (await pool.query<{ published: boolean }>('SELECT published FROM profile_changes WHERE id = $1', [id])).rows[0].published;

  it('leaves a row whose send failed unpublished, for the sweeper to send', async () => {
    const { topic } = await freshTopic('test-outbox', 1);
    const messages = [
      { _id: 'p-1', _operation: '_set', _path: ['a'], _value: { _v: 1 } },
      { _id: 'p-2', _operation: '_set', _path: ['b'], _value: { _v: 2 } },
    ];
    const id = await queued(messages);

    // The batch's own send after its commit, with Kafka unreachable: it fails (the activity logs it).
    await expect(publishOutbox(pool, broken, topic, [id])).rejects.toThrow(/ECONNREFUSED|Connection error/);
    expect(await published(id)).toBe(false);
    expect(await recordCount(topic)).toBe(0);

    // The sweeper's pass: every unpublished row of the outbox.
    expect(await publishOutbox(pool, working, topic)).toBe(2);
    expect(await published(id)).toBe(true);
    expect((await readAll(topic, 2)).map((v) => JSON.parse(v) as unknown)).toEqual(messages);
    // Marked: the next pass sends nothing again.
    expect(await publishOutbox(pool, working, topic)).toBe(0);
  });

  it("publishes a batch's own row from the messages it holds, without reading it back, and marks it", async () => {
    const { topic } = await freshTopic('test-outbox-written', 1);
    const messages = [
      { _id: 'p-3', _operation: '_set', _path: ['c'], _value: { _v: 3 } },
      { _id: 'p-4', _operation: '_increment', _path: ['d'], _value: { _v: 1 } },
    ];
    const id = await queued(messages);
    let queries = 0;
    const counted = new Proxy(pool, {
      get: (target, prop, receiver) => (prop === 'query' ? (...args: unknown[]) => (queries++, (target.query as (...a: unknown[]) => unknown)(...args)) : Reflect.get(target, prop, receiver)),
    });

    await expect(publishWritten(counted, broken, topic, { id, messages })).rejects.toThrow(/ECONNREFUSED|Connection error/);
    expect(await published(id)).toBe(false);
    expect(queries).toBe(0);

    expect(await publishWritten(counted, working, topic, { id, messages })).toBe(2);
    // The mark alone: the messages came from memory.
    expect(queries).toBe(1);
    expect(await published(id)).toBe(true);
    expect((await readAll(topic, 2)).map((v) => JSON.parse(v) as unknown)).toEqual(messages);
    expect(await publishOutbox(pool, working, topic)).toBe(0);
  });
  it('hands a batch its changes back at once: the send and the mark follow, drain waits for them', async () => {
    const { topic } = await freshTopic('test-outbox-background', 1);
    const messages: ChangeMessage[] = [
      { _id: 'p-5', _operation: '_set', _path: ['e'], _value: { _v: 5 } },
      { _id: 'p-6', _operation: '_set', _path: ['f'], _value: { _v: 6 } },
    ];
    const id = await queued(messages);
    const errors: unknown[] = [];

    // Kafka unreachable: publish returns with the send under way; its failure is reported, and
    // the row stays for the sweeper.
    const failing = new ChangePublisher(pool, () => broken, topic, (err) => errors.push(err));
    failing.publish({ id, messages });
    expect(failing.size).toBe(1);
    await failing.drain();
    expect(failing.size).toBe(0);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/ECONNREFUSED|Connection error/);
    expect(await published(id)).toBe(false);

    // Kafka up: what goes out is the messages as they were when handed over (the next batch may
    // change the profile states they share once this one returns), then the row is marked.
    const held = messages.map((m) => ({ ...m }));
    const ok = new ChangePublisher(pool, () => working, topic, (err) => errors.push(err));
    ok.publish({ id, messages: held });
    held[0]._value = { _v: 99 };
    expect(ok.size).toBe(1);
    await ok.drain();
    expect(errors).toHaveLength(1);
    expect(await published(id)).toBe(true);
    expect((await readAll(topic, 2)).map((v) => JSON.parse(v) as unknown)).toEqual(messages);
    expect(await publishOutbox(pool, working, topic)).toBe(0);
  });
});
