/**
 * Runs alone, not beside another lane (test/support/lanes.ts): it stops PostgreSQL.
 *
 * @stack exclusive
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { stackDown, stackUp } from '../../src/stack';
import { createPool } from '../../src/db/pool';
import { createEventType } from '../../src/eventtypes/store';
import type { EventType } from '../../src/eventtypes/definition';
import { PROJECT_NAME_RULE, projectTopic } from '../../src/projects/names';
import { Projects } from '../../src/projects/service';
import { startBeltline, TEST_JSON_TYPE, type BeltlineProcess } from '../support/beltline';
import { freshTopic, recordCount } from '../support/kafka';
import { createKafka } from '../../src/kafka/producer';
import { snowplowTracker } from '../support/tracker';
import { buildPageView } from '@snowplow/node-tracker';

const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const suffix = crypto.randomBytes(3).toString('hex');
/** A public project, and one that takes events only with its write key. */
const OPEN = `open-${suffix}`;
const LOCKED = `locked-${suffix}`;
/** An event type that exists only in OPEN. */
const OPEN_TYPE = { ...TEST_JSON_TYPE, description: '', name: `only-open-${suffix}` } as EventType;

const tp2Body = (eid: string) =>
  JSON.stringify({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: [{ e: 'pv', eid, p: 'web', tv: 'test' }] });

/** A raw record's event ids (tracker events' `eid`, JSON events' `eventId`). */
function idsOf(value: string): string[] {
  const record = JSON.parse(value) as { events: { eid?: string; eventId?: string }[] };
  return record.events.map((e) => e.eid ?? e.eventId ?? '?');
}

/**
 * Every record of the given topics, read by one throw-away consumer (one group join, which is
 * most of a read's time). Each send was acknowledged by Kafka (acks = all) before its answer, so
 * the topics' end offsets are final: the read stops at them.
 */
async function readTopics(topics: string[]): Promise<Map<string, string[]>> {
  const expected = new Map<string, number>();
  for (const t of topics) expected.set(t, await recordCount(t));
  const read = new Map<string, string[]>(topics.map((t) => [t, []]));
  const consumer = createKafka(loadConfig(), 'beltline-test').consumer({ groupId: `reader-${crypto.randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ topic, message }) => void read.get(topic)?.push(message.value?.toString() ?? '') });
    const done = () => topics.every((t) => (read.get(t)?.length ?? 0) >= (expected.get(t) ?? 0));
    const deadline = Date.now() + 30_000;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/**
 * A request sent with the path exactly as given: fetch (WHATWG URL) would resolve `..` and
 * `%2e%2e` itself, and the server would never see them.
 */
function rawPost(base: string, path: string, body: string): Promise<{ status: number; body: { error?: string; message?: string } }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as { error?: string; message?: string } }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends one page view with Snowplow's Node tracker; resolves with its id and whether the collector acknowledged it. */
async function track(base: string, opts: { postPath: string; customHeaders?: Record<string, string> }): Promise<{ eid: string; acknowledged: boolean }> {
  const session = snowplowTracker(base, { bufferSize: 1, ...opts });
  session.tracker.track(buildPageView({ pageUrl: 'https://shop.example/', pageTitle: 'Shop' }));
  await session.flush();
  return { eid: session.tracked[0], acknowledged: session.acknowledged.length === 1 };
}

/**
 * Trackers reach a project by path alone (`/p/<project>/…`, what a tracker's postPath or endpoint
 * can say), each project's events land on its own raw topic, and a project that requires its
 * write key takes events only with it.
 */
describe('collector: projects and write keys', () => {
  let beltline: BeltlineProcess;
  let base: string;
  let pool: Pool;
  let projects: Projects;
  let openKey: string;
  let lockedKey: string;
  /** Per topic, the ids of every event the collector took for it: checked against the topics at the end. */
  const expected = new Map<string, string[]>();
  const took = (project: string, ...ids: string[]) => {
    const topic = projectTopic(base, project);
    expected.set(topic, [...(expected.get(topic) ?? []), ...ids]);
  };

  beforeAll(async () => {
    ({ topic: base } = await freshTopic('collector-projects'));
    pool = createPool(loadConfig().databaseUrl, 2);
    projects = new Projects(pool, loadConfig().databaseUrl, 2);
    // Created before the collector starts and after: both must be known to it.
    const open = await projects.create({ name: OPEN, displayName: 'Open project' });
    if (!open) throw new Error(`project ${OPEN} exists already`);
    openKey = open.keys.writeKey;
    await createEventType(projects.db(OPEN), OPEN, OPEN_TYPE);
    beltline = await startBeltline({ roles: ['collector'], port: 18173, env: { BELTLINE_RAW_TOPIC: base } });
    const locked = await projects.create({ name: LOCKED, displayName: 'Locked project', requireWriteKey: true });
    if (!locked) throw new Error(`project ${LOCKED} exists already`);
    lockedKey = locked.keys.writeKey;
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await projects?.end();
    await pool?.end();
  });

  it('puts tracker events on the topic of the project their path names, and the default project\'s on its own', async () => {
    const toOpen = [
      await track(beltline.url, { postPath: `/p/${OPEN}${TP2}` }),
      await track(beltline.url, { postPath: `/p/${OPEN}/api${TP2}` }),
    ];
    const toDefault = [await track(beltline.url, { postPath: `/api${TP2}` }), await track(beltline.url, { postPath: TP2 })];
    expect([...toOpen, ...toDefault].map((t) => t.acknowledged)).toEqual([true, true, true, true]);
    const pixel = await fetch(`${beltline.url}/p/${OPEN}/i?e=pv&eid=pixel-${suffix}&p=web&tv=test`);
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');

    took(OPEN, ...toOpen.map((t) => t.eid), `pixel-${suffix}`);
    took('default', ...toDefault.map((t) => t.eid));
    // Every send was acknowledged by Kafka (acks = all) before its answer: the counts are final.
    expect(await recordCount(projectTopic(base, OPEN))).toBe(3);
    expect(await recordCount(base)).toBe(2);
  });

  it('takes JSON events of a type that exists only in the project ?project= names', async () => {
    const before = await recordCount(projectTopic(base, OPEN));
    const post = (query: string) =>
      fetch(`${beltline.url}/api/v1/events/${OPEN_TYPE.name}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventId: `json-${suffix}`, correlationId: 'u1' }) });
    const ok = await post(`?project=${OPEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ accepted: 1 });
    expect(await recordCount(projectTopic(base, OPEN))).toBe(before + 1);
    took(OPEN, `json-${suffix}`);
    // The default project has no such type.
    const elsewhere = await post('');
    expect(elsewhere.status).toBe(404);
    expect(((await elsewhere.json()) as { message: string }).message).toContain(`no event type "${OPEN_TYPE.name}" in project "default"`);
  });

  it('answers 404 in the shared shape for an unknown project, on every collector path', async () => {
    const before = await recordCount(base);
    const answers = [
      await fetch(`${beltline.url}/p/nope-${suffix}${TP2}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tp2Body('x') }),
      await fetch(`${beltline.url}/p/nope-${suffix}/api${TP2}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: tp2Body('x') }),
      await fetch(`${beltline.url}/p/nope-${suffix}/i?e=pv&eid=x`),
      await fetch(`${beltline.url}/api/v1/events/${OPEN_TYPE.name}?project=nope-${suffix}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not_found', message: `unknown project "nope-${suffix}"` });
    }
    expect(await recordCount(base)).toBe(before);
  });

  it.each([['..'], ['%2e%2e'], ['A'], ['a;drop'], ['a'.repeat(41)], ['%00'], ['a%2Fb']])('answers 400 naming the rule for the project name %s', async (name) => {
    for (const path of [`/p/${name}${TP2}`, `/p/${name}/api${TP2}`, `/api/v1/events/${OPEN_TYPE.name}?project=${name}`]) {
      const res = await rawPost(beltline.url, path, tp2Body('x'));
      expect({ path, status: res.status, error: res.body.error }).toEqual({ path, status: 400, error: 'bad_request' });
      expect(res.body.message).toContain(PROJECT_NAME_RULE);
    }
  });

  it('takes a locked project\'s events only with its write key: none 401, another\'s 403, its own by header or ?wk=', async () => {
    const topic = projectTopic(base, LOCKED);
    let posted = 0;
    const post = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${beltline.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: tp2Body(`key-${suffix}-${++posted}`) });

    const none = await post(`/p/${LOCKED}${TP2}`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: string }).error).toBe('unauthorized');
    for (const refused of [
      await post(`/p/${LOCKED}${TP2}`, { authorization: `Bearer ${openKey}` }),
      await post(`/p/${LOCKED}${TP2}?wk=${encodeURIComponent(openKey)}`),
      await post(`/p/${LOCKED}${TP2}?wk=not-a-key`),
    ]) {
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: string }).error).toBe('forbidden');
    }
    // A tracker without the key is refused, and nothing reached the topic.
    expect(await track(beltline.url, { postPath: `/p/${LOCKED}${TP2}` })).toMatchObject({ acknowledged: false });

    expect(await recordCount(topic).catch(() => 0)).toBe(0);

    const byHeader = await post(`/p/${LOCKED}${TP2}`, { authorization: `Bearer ${lockedKey}` });
    expect(byHeader.status).toBe(200);
    took(LOCKED, `key-${suffix}-${posted}`);
    const byTrackerHeader = await track(beltline.url, { postPath: `/p/${LOCKED}${TP2}`, customHeaders: { authorization: `Bearer ${lockedKey}` } });
    // The tracker appends nothing to its postPath: the key rides in the query string as given.
    const byTrackerQuery = await track(beltline.url, { postPath: `/p/${LOCKED}${TP2}?wk=${encodeURIComponent(lockedKey)}` });
    expect([byTrackerHeader.acknowledged, byTrackerQuery.acknowledged]).toEqual([true, true]);
    const pixel = await fetch(`${beltline.url}/p/${LOCKED}/i?e=pv&eid=locked-pixel-${suffix}&wk=${encodeURIComponent(lockedKey)}`);
    expect(pixel.status).toBe(200);

    took(LOCKED, byTrackerHeader.eid, byTrackerQuery.eid, `locked-pixel-${suffix}`);
    expect(await recordCount(topic)).toBe(4);
    // A public project takes events whatever key they carry.
    expect((await post(`/p/${OPEN}${TP2}`, { authorization: `Bearer ${lockedKey}` })).status).toBe(200);
    took(OPEN, `key-${suffix}-${posted}`);
  });

  it('while PostgreSQL is down, takes events of known projects and types, deciding keys from memory', async () => {
    const cfg = loadConfig();
    const tp2 = (project: string, eid: string, headers: Record<string, string> = {}) =>
      fetch(`${beltline.url}/p/${project}${TP2}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: tp2Body(eid) });
    await stackDown(cfg, { only: ['postgres'] });
    try {
      expect((await tp2(LOCKED, `pg-down-${suffix}`, { authorization: `Bearer ${lockedKey}` })).status).toBe(200);
      took(LOCKED, `pg-down-${suffix}`);
      expect((await tp2(LOCKED, 'refused')).status).toBe(401);
      expect((await tp2(LOCKED, 'refused', { authorization: `Bearer ${openKey}` })).status).toBe(403);
      const json = await fetch(`${beltline.url}/api/v1/events/${OPEN_TYPE.name}?project=${OPEN}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ eventId: `pg-down-json-${suffix}`, correlationId: 'u1' }),
      });
      expect(json.status).toBe(200);
      took(OPEN, `pg-down-json-${suffix}`);
      // An unknown project may have been created a moment ago: no refusal on the word of memory.
      const unknown = await tp2(`nope-${suffix}`, 'x');
      expect(unknown.status).toBe(503);
      expect(((await unknown.json()) as { error: string }).error).toBe('unavailable');
    } finally {
      await stackUp(cfg, { only: ['postgres'] });
    }
  });

  it('has put every event taken on its project\'s topic, none on another\'s, and no write key in any record', async () => {
    const topics = [base, projectTopic(base, OPEN), projectTopic(base, LOCKED)];
    const read = await readTopics(topics);
    for (const t of topics) {
      const ids = (read.get(t) ?? []).flatMap(idsOf);
      expect({ topic: t, ids: ids.sort() }).toEqual({ topic: t, ids: [...(expected.get(t) ?? [])].sort() });
    }
    // The key is the request's: it is stored nowhere in the records.
    const all = [...read.values()].flat().join('\n');
    expect(all).not.toContain(lockedKey);
    expect(all).not.toContain(openKey);
  });

  it('documents the project paths and the write key in the OpenAPI document', async () => {
    type Operation = { tags?: string[]; summary?: string; security?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> };
    const doc = (await (await fetch(`${beltline.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, Operation>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.components.securitySchemes.writeKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, method] of [
      [`/p/{project}${TP2}`, 'post'],
      [`/p/{project}/api${TP2}`, 'post'],
      [`/api${TP2}`, 'post'],
      ['/p/{project}/i', 'get'],
    ]) {
      const op = doc.paths[path]?.[method];
      expect(op).toMatchObject({ tags: ['collector'], security: [{ writeKey: [] }, {}] });
      expect(op?.summary).toBeTruthy();
      expect(Object.keys(op?.responses ?? {})).toEqual(expect.arrayContaining(['400', '401', '403', '404']));
      if (path.startsWith('/p/')) expect(op?.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'project', in: 'path' })]));
    }
  });
});
