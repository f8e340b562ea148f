import crypto from 'node:crypto';
import { buildPageView, buildSelfDescribingEvent, buildStructEvent } from '@snowplow/node-tracker';
import type { Pool } from 'pg';
import { transform as sdkTransform } from 'snowplow-analytics-sdk';
import { loadConfig } from '../../src/config';
import { createKafka } from '../../src/kafka/producer';
import { ENRICHED_FIELDS, parseEnrichedTsv } from '../../src/snowplow/enriched-tsv';
import { admin, ensureEventType, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic, recordCount } from '../support/kafka';
import { snowplowTracker } from '../support/tracker';

/** Every record of a topic with its key, read from the beginning by a throw-away group until `enough`. */
async function readKeyed(topic: string, enough: (n: number) => boolean, timeoutMs = 30_000): Promise<{ key: string | null; value: string }[]> {
  const consumer = createKafka(loadConfig(), 'snowplow-interop-test').consumer({ groupId: `reader-${crypto.randomBytes(4).toString('hex')}` });
  const out: { key: string | null; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' }) });
    const deadline = Date.now() + timeoutMs;
    while (!enough(out.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** An enriched TSV line from field values by name (the rest empty), as Snowplow Enrich writes one. */
function tsv(fields: Record<string, string>): string {
  return ENRICHED_FIELDS.map(([f]) => fields[f] ?? '').join('\t');
}

/**
 * The atomic field names of the Analytics SDK's JSON, from the SDK itself: it reads a line with
 * every field set, and what it names (less the fields it expands) is its list.
 */
function sdkAtomicFields(): Set<string> {
  const line = ENRICHED_FIELDS.map(([f, kind], i) =>
    kind === 'int' ? String(i) : kind === 'double' ? '1.5' : kind === 'bool' ? '1' : kind === 'tstamp' ? '2026-01-01 00:00:00.000' : kind === 'contexts' ? '{"data":[]}' : kind === 'unstruct' ? '{"data":{"schema":"iglu:a.b/c/jsonschema/1-0-0","data":{}}}' : f,
  ).join('\t');
  return new Set(Object.keys(sdkTransform(line)).filter((k) => !k.startsWith('unstruct_event_')));
}

describe('Snowplow interop', () => {
  const s = Date.now().toString(36);
  let pool: Pool;
  let beltline: BeltlineProcess | undefined;
  let url = '';
  let enrichedTopic = '';
  let tsvTopic = '';

  beforeAll(async () => {
    pool = testPool();
    // Topics, consumer group and task queue of this file's own.
    const raw = await freshTopic('sp-interop-raw');
    enrichedTopic = (await freshTopic('sp-interop-enriched', 2)).topic;
    // Not made here: the worker makes a missing enriched topic itself.
    tsvTopic = `sp-interop-enriched-tsv-${crypto.randomBytes(4).toString('hex')}`;
    beltline = await startBeltline({
      port: 18480,
      env: { BELTLINE_RAW_TOPIC: raw.topic, BELTLINE_CONSUMER_GROUP: raw.group, BELTLINE_TASK_QUEUE: `sp-interop-${s}`, BELTLINE_ENRICHED_TOPIC: enrichedTopic, BELTLINE_ENRICHED_TSV_TOPIC: tsvTopic },
    });
    url = beltline.url;
  }, 120_000);

  afterAll(async () => {
    await pool.query('DELETE FROM harvesters WHERE name LIKE $1', [`%-${s}`]);
    await beltline?.stop();
    await pool.end();
  });

  it('out: events from Snowplow\'s tracker appear on the enriched topic as Analytics SDK JSON, keyed by user, and as enriched TSV', async () => {
    const pageId = crypto.randomUUID();
    const session = snowplowTracker(url, { appId: `shop-${s}`, bufferSize: 1 });
    session.tracker.setUserId(`ada-${s}`);
    session.tracker.track(buildPageView({ pageUrl: 'https://shop.example.com/p/42?utm_source=news', pageTitle: 'Blue shoes' }), [
      // Schemas the registry holds (schemas/): an event whose JSON fails its schema is a bad row, not on `enriched`.
      { schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: pageId } },
    ]);
    session.tracker.track(buildStructEvent({ category: 'checkout', action: 'apply-coupon', label: 'WINTER10', value: 10.5 }));
    session.tracker.track(buildSelfDescribingEvent({ event: { schema: 'iglu:com.snowplowanalytics.snowplow/add_to_cart/jsonschema/1-0-0', data: { sku: 'SHOE-42', quantity: 2 } } }));
    await session.flush();
    expect(session.acknowledged).toHaveLength(3);

    const records = await readKeyed(enrichedTopic, (n) => n >= 3);
    expect(records).toHaveLength(3);
    const events = records.map((r) => JSON.parse(r.value) as Record<string, unknown>);
    expect(events.map((e) => e.event_id).sort()).toEqual([...session.acknowledged].sort());
    // Keyed by the user, as the raw topic is: one user's events share a partition.
    expect(records.map((r) => r.key)).toEqual([`ada-${s}`, `ada-${s}`, `ada-${s}`]);

    // The same JSON the event store holds, field for field.
    // The enriched records are sent before the batch's transaction commits (so a failed send rolls
    // it back): they can be read a moment before the events are.
    const rows = await waitFor('the three events stored', async () => {
      const r = await pool.query<{ event_id: string; payload: Record<string, unknown> }>("SELECT event_id, payload FROM events WHERE event_type = 'snowplow' AND event_id = ANY($1)", [session.acknowledged]);
      return r.rows.length === 3 ? r.rows : undefined;
    });
    const stored = new Map(rows.map((r) => [r.event_id, r.payload]));
    for (const e of events) expect(e).toEqual(stored.get(e.event_id as string));

    // Every field is one the Analytics SDK names (or a context / unstruct field it would make).
    const sdkFields = sdkAtomicFields();
    for (const e of events) {
      const unknown = Object.keys(e).filter((k) => !sdkFields.has(k) && !/^(contexts|unstruct_event)_[a-z0-9_]+_\d+$/.test(k));
      expect(unknown).toEqual([]);
      expect(e).toMatchObject({ app_id: `shop-${s}`, user_id: `ada-${s}`, platform: 'srv', v_etl: expect.any(String), collector_tstamp: expect.stringMatching(/Z$/) });
    }
    // The TSV copy, for Snowplow's loaders: the Analytics SDK reads each line back into the same
    // JSON (but for se_value, which it alone keeps as text).
    const lines = await readKeyed(tsvTopic, (n) => n >= 3);
    expect(lines.map((r) => r.key)).toEqual([`ada-${s}`, `ada-${s}`, `ada-${s}`]);
    const byId = new Map(events.map((e) => [e.event_id, e]));
    for (const { value } of lines) {
      expect(value.split('\t')).toHaveLength(131);
      const read = sdkTransform(value) as unknown as Record<string, unknown>;
      if (typeof read.se_value === 'string') read.se_value = Number(read.se_value);
      expect(read).toEqual(byId.get(read.event_id));
    }

    const byKind = new Map(events.map((e) => [e.event, e]));
    expect(byKind.get('page_view')).toMatchObject({ page_url: 'https://shop.example.com/p/42?utm_source=news', page_urlquery: 'utm_source=news', contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: pageId }] });
    expect(byKind.get('struct')).toMatchObject({ se_category: 'checkout', se_action: 'apply-coupon', se_label: 'WINTER10', se_value: 10.5 });
    expect(byKind.get('unstruct')).toMatchObject({ event_vendor: 'com.snowplowanalytics.snowplow', event_name: 'add_to_cart', unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { sku: 'SHOE-42', quantity: 2 } });
  }, 120_000);

  it('in: a Snowplow pipeline\'s enriched TSV topic feeds an event type through a harvester; a bad line is a bad row', async () => {
    const { topic: source } = await freshTopic('sp-interop-parsed-good', 1);
    const type = `sp-in-${s}`;
    await ensureEventType(url, {
      name: type,
      displayName: 'Page views from Snowplow',
      type: 'data_in',
      eventIdExpression: '$.event_id',
      timestampExpression: '$.derived_tstamp',
      correlationIdExpression: '$.domain_userid',
      eventstoreTTL: 'P1D',
    });
    const created = await admin(url, 'POST', '/projects/default/harvesters', {
      name: `sp-enriched-${s}`,
      displayName: 'Snowplow enriched',
      sourceType: { name: 'snowplow-enriched', topic: source },
      // Structured events are not wanted here; what is kept is the SDK JSON as it is.
      transform: { script: "return event.event === 'struct' ? null : event;" },
      eventType: { name: type },
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ source: { kind: 'snowplow-enriched', topic: source } });
    const refused = await admin(url, 'POST', '/projects/default/harvesters', { displayName: 'x', sourceType: { name: 'snowplow-enriched' }, transform: 'return event', eventType: type });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ details: { field: 'sourceType.topic' } });

    const common = {
      platform: 'web',
      etl_tstamp: '2026-12-06 10:00:01.000',
      collector_tstamp: '2026-12-06 10:00:00.000',
      v_collector: 'ssc-3.2.0-kafka',
      v_etl: 'snowplow-enrich-kafka-5.1.0',
      domain_userid: `duid-${s}`,
      derived_tstamp: '2026-12-06 09:59:59.900',
    };
    const ids = [1, 2, 3].map((n) => `00000000-0000-4000-8000-${s.padStart(10, '0')}0${n}`);
    const pageView = tsv({
      ...common,
      event: 'page_view',
      event_id: ids[0],
      page_url: 'https://shop.example.com/',
      contexts: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', data: [{ schema: 'iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0', data: { id: 'wp-1' } }] }),
      event_vendor: 'com.snowplowanalytics.snowplow',
      event_name: 'page_view',
      event_format: 'jsonschema',
      event_version: '1-0-0',
    });
    const selfDescribing = tsv({
      ...common,
      event: 'unstruct',
      event_id: ids[1],
      unstruct_event: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0', data: { schema: 'iglu:com.acme/signed_up/jsonschema/1-0-0', data: { plan: 'pro' } } }),
      derived_contexts: JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1', data: [{ schema: 'iglu:nl.basjes/yauaa_context/jsonschema/1-0-4', data: { deviceClass: 'Desktop' } }] }),
      event_vendor: 'com.acme',
      event_name: 'signed_up',
      event_format: 'jsonschema',
      event_version: '1-0-0',
    });
    const struct = tsv({ ...common, event: 'struct', event_id: ids[2], se_category: 'c', se_action: 'a', event_vendor: 'com.google.analytics', event_name: 'event', event_format: 'jsonschema', event_version: '1-0-0' });
    const cut = pageView.split('\t').slice(0, 100).join('\t');
    const badValue = tsv({ ...common, event: 'page_view', event_id: `bad-${s}`, dvce_ismobile: 'maybe' });

    const producer = createKafka(loadConfig(), 'snowplow-interop-test').producer();
    await producer.connect();
    await producer.send({ topic: source, messages: [pageView, cut, selfDescribing, badValue, struct].map((value) => ({ value })) });
    await producer.disconnect();

    const stored = await waitFor('the two harvested events', async () => {
      const { rows } = await pool.query<{ event_id: string; correlation_id: string; created_at: Date; payload: Record<string, unknown> }>(
        'SELECT event_id, correlation_id, created_at, payload FROM events WHERE event_type = $1 ORDER BY event_id',
        [type],
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(stored.map((r) => r.event_id)).toEqual([ids[0], ids[1]]);
    expect(stored.every((r) => r.correlation_id === `duid-${s}`)).toBe(true);
    expect(stored[0].created_at.toISOString()).toBe('2026-12-06T09:59:59.900Z');
    // What is stored is the Analytics SDK's JSON of the line (through a transform that kept it as it was).
    for (const [row, line] of [
      [stored[0], pageView],
      [stored[1], selfDescribing],
    ] as const) {
      const parsed = parseEnrichedTsv(line);
      expect(parsed.ok && row.payload).toEqual(parsed.ok && parsed.event);
    }
    expect(stored[0].payload).toMatchObject({ page_url: 'https://shop.example.com/', contexts_com_snowplowanalytics_snowplow_web_page_1: [{ id: 'wp-1' }] });
    expect(stored[1].payload).toMatchObject({ unstruct_event_com_acme_signed_up_1: { plan: 'pro' }, contexts_nl_basjes_yauaa_context_1: [{ deviceClass: 'Desktop' }] });

    const bad = await waitFor('the two bad rows', async () => {
      const { rows } = await pool.query<{ type: string; bad_row: { data: { failure: Record<string, unknown>; payload: unknown } } }>(
        "SELECT type, bad_row FROM bad_rows WHERE row_key LIKE $1 ORDER BY row_key",
        [`${source}:%`],
      );
      return rows.length >= 2 ? rows : undefined;
    });
    expect(bad.map((b) => b.type)).toEqual(['loader_parsing_error', 'loader_parsing_error']);
    expect(bad[0].bad_row.data).toMatchObject({ failure: { type: 'FieldNumberMismatch', fieldCount: 100 }, payload: cut });
    expect(bad[1].bad_row.data).toMatchObject({ failure: { type: 'RowDecodingError', errors: [{ key: 'dvce_ismobile', value: 'maybe' }] }, payload: badValue });

    // Events read from a Snowplow pipeline are already on its enriched topic: they do not go out again.
    // (Had they gone out, it would be before their commit: every record the topic holds now is read.)
    const total = await recordCount(enrichedTopic);
    const out = await readKeyed(enrichedTopic, (n) => n >= total);
    expect(out).toHaveLength(total);
    expect(out.map((r) => (JSON.parse(r.value) as { event_id: string }).event_id).filter((id) => ids.includes(id))).toEqual([]);
  }, 120_000);

  it('off (BELTLINE_ENRICHED=false): the tracker\'s events are stored, and nothing goes to the enriched topic', async () => {
    const raw = await freshTopic('sp-interop-off-raw');
    const { topic: offTopic } = await freshTopic('sp-interop-off-enriched', 2);
    const off = await startBeltline({
      port: 18484,
      env: { BELTLINE_RAW_TOPIC: raw.topic, BELTLINE_CONSUMER_GROUP: raw.group, BELTLINE_TASK_QUEUE: `sp-interop-off-${s}`, BELTLINE_ENRICHED_TOPIC: offTopic, BELTLINE_ENRICHED: 'false' },
    });
    try {
      const session = snowplowTracker(off.url, { appId: `off-${s}`, bufferSize: 1 });
      session.tracker.setUserId(`off-user-${s}`);
      for (let i = 0; i < 3; i++) session.tracker.track(buildPageView({ pageUrl: `https://shop.example.com/off/${i}` }));
      await session.flush();
      expect(session.acknowledged).toHaveLength(3);
      const stored = async () => (await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE event_id = ANY($1)', [session.acknowledged])).rows.length;
      await waitFor('the three events stored', async () => ((await stored()) === 3 ? true : undefined), 60_000);
      // Sent before the commit when on: once the events are stored, anything sent would be there.
      expect(await recordCount(offTopic)).toBe(0);
    } finally {
      await off.stop();
    }
  }, 120_000);

  it('out, at least once: a worker killed after the send and before its commit leaves the events on enriched, and the retry stores each once', async () => {
    // Processes of their own: a collector that stays up, and a bridge + worker killed (-9) inside
    // the batch's transaction once the enriched send was acknowledged (the fault point before the commit).
    const raw = await freshTopic('sp-interop-crash-raw');
    const { topic: crashTopic } = await freshTopic('sp-interop-crash-enriched', 2);
    const env = { BELTLINE_RAW_TOPIC: raw.topic, BELTLINE_CONSUMER_GROUP: raw.group, BELTLINE_TASK_QUEUE: `sp-interop-crash-${s}`, BELTLINE_ENRICHED_TOPIC: crashTopic, BELTLINE_ACTIVITY_TIMEOUT: '5s' };
    const processes: BeltlineProcess[] = [];
    try {
      const collector = await startBeltline({ roles: ['collector'], port: 18481, env });
      processes.push(collector);
      const crashing = await startBeltline({ roles: ['bridge', 'worker'], port: 18482, env: { ...env, BELTLINE_FAULT: 'worker-crash-before-commit:processBatch' } });
      processes.push(crashing);
      const exited = new Promise<void>((resolve) => (crashing.child.exitCode !== null ? resolve() : crashing.child.once('exit', () => resolve())));

      const session = snowplowTracker(collector.url, { appId: `crash-${s}`, bufferSize: 1 });
      session.tracker.setUserId(`crash-user-${s}`);
      for (let i = 0; i < 5; i++) session.tracker.track(buildPageView({ pageUrl: `https://shop.example.com/${i}` }));
      await session.flush();
      expect(session.acknowledged).toHaveLength(5);
      await exited;
      expect(crashing.child.signalCode).toBe('SIGKILL');

      // Sent, not committed: on the topic, not in the store.
      const sentBeforeCrash = (await readKeyed(crashTopic, (n) => n >= 1)).map((r) => (JSON.parse(r.value) as { event_id: string }).event_id);
      expect(sentBeforeCrash.length).toBeGreaterThan(0);
      const stored = async () => (await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE event_id = ANY($1)', [session.acknowledged])).rows.map((r) => r.event_id);
      expect(await stored()).toEqual([]);

      processes.push(await startBeltline({ roles: ['bridge', 'worker'], port: 18483, env }));
      await waitFor('every event stored', async () => ((await stored()).length === 5 ? true : undefined), 90_000);
      expect((await stored()).sort()).toEqual([...session.acknowledged].sort());
      const onTopic = (await readKeyed(crashTopic, (n) => n >= 5 + sentBeforeCrash.length)).map((r) => (JSON.parse(r.value) as { event_id: string }).event_id);
      expect(new Set(onTopic)).toEqual(new Set(session.acknowledged));
      // The batch the dead worker sent went out again when it was retried: at least once, with repeats to drop by event_id.
      for (const id of sentBeforeCrash) expect(onTopic.filter((x) => x === id).length).toBeGreaterThanOrEqual(2);
    } finally {
      for (const p of processes.reverse()) await p.stop();
    }
  }, 180_000);
});
