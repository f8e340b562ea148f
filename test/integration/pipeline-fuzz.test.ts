import crypto from 'node:crypto';
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, type PayloadBuilder } from '@snowplow/node-tracker';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { caseRng, Gen } from '../support/fuzz';
import { freshTopic } from '../support/kafka';
import { ADD_TO_CART, snowplowTracker } from '../support/tracker';

/**
 * Random hostile traffic through the whole pipeline (collector, bridge, worker): tp2 from
 * Snowplow's own Node tracker and raw tp2, pixel and JSON bodies. Whatever the events carry, no
 * batch may be left failed, and every event the collector accepted (2xx) is stored in the event
 * store or kept as a bad row, counted by its event id (events without a usable id are sent too,
 * but cannot be counted one by one).
 *
 * Each case is generated from (seed, index) alone: `FUZZ_SEED=<seed> FUZZ_ONLY=<index>` replays
 * one case (tracker events get the tracker's own random ids, their content is seeded).
 * FUZZ_SECONDS bounds the sending (default 45 s), FUZZ_CASES the count.
 */

const PORT = 18178;
const SEED = Number(process.env.FUZZ_SEED ?? crypto.randomInt(2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 100_000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 45);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
const CONCURRENCY = 3;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';
const UNSTRUCT = 'iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0';
const CONTEXTS = 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1';

/** Text a store may choke on: NUL, lone surrogates, controls, quotes, astral characters. */
function hostileText(g: Gen, maxLen: number): string {
  return g.weighted<() => string>([
    [3, () => g.text(maxLen)],
    [1, () => `${g.alnum(g.int(8))}\u0000${g.alnum(g.int(8))}`],
    [1, () => `${g.alnum(g.int(8))}${g.pick(['\ud800', '\udfff', '\udbff\udbff', '\ud83d'])}${g.alnum(g.int(8))}`],
    [1, () => g.pick(['', ' ', '\t', '\\', '"', "'; DROP TABLE events; --", '$.x', '#uuid()', '__proto__', 'constructor', '\u2028\u2029', '\ufeff', '😀'.repeat(50)])],
  ])();
}

/** A JSON value with hostile strings and keys, nested up to `depth` (the collector takes 100 levels). */
function hostileJson(g: Gen, depth: number): unknown {
  if (depth <= 0 || g.chance(0.35)) {
    return g.pick<() => unknown>([() => hostileText(g, 30), () => g.int(1e6) - 5e5, () => g.pick([1.25e300, -0, 2 ** 64, 1e-300]), () => g.chance(0.5), () => null])();
  }
  if (g.chance(0.5)) return Array.from({ length: g.int(4) }, () => hostileJson(g, depth - 1));
  return Object.fromEntries(Array.from({ length: g.int(4) }, () => [g.chance(0.5) ? hostileText(g, 8) : g.alnum(6), hostileJson(g, depth - 1)]));
}

function nested(depth: number, leaf: unknown): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** A case: what to send, and the ids of its events that can be counted if it is accepted. */
interface Case {
  index: number;
  kind: string;
  send(base: string): Promise<{ status: number; ids: string[] }>;
}

// Ids are unique per run, so a replayed seed never finds the events of an earlier run.
const RUN = Date.now().toString(36);
const ID_PREFIX = `pf-${SEED}-${RUN}-`;
const countable = (index: number, j: number): string => `${ID_PREFIX}${index}-${j}`;
// What an accepted event's id looks like in a bad row: ours, or a tracker's UUID.
const ID_PATTERN = new RegExp(`${ID_PREFIX}\\d+-\\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`, 'g');

function tp2Param(g: Gen): [string, string | number | boolean | null] {
  return g.weighted<() => [string, string | number | boolean | null]>([
    [4, () => [g.pick(['url', 'page', 'refr', 'se_ca', 'se_ac', 'se_la', 'tna', 'aid', 'lang', 'tz', 'cs', 'ua', 'ip', 'fp', 'tr_id', 'ti_id']), hostileText(g, 40)]],
    [1, () => [g.pick(['se_va', 'tr_tt', 'ti_pr', 'vid', 'ti_qu', 'pp_mix', 'res', 'vp', 'ds', 'cookie', 'f_pdf', 'p']), g.pick<string | number | boolean | null>([hostileText(g, 10), 1.5, -1, 1e21, 2 ** 40, true, null, '1', '1x2', 'web'])]],
    [1, () => [g.pick(['dtm', 'stm', 'ttm']), g.pick(['', '0', String(Date.now() - g.int(1e10)), '253402300799999'])]],
    [1, () => [g.pick(['uid', 'duid', 'nuid', 'tnuid', 'sid']), g.chance(0.5) ? `pf-user-${g.alnum(4)}` : hostileText(g, 30)]],
    [1, () => [`k_${g.alnum(g.between(1, 10))}`, hostileText(g, 20)]],
  ])();
}

/** Stands for a deeply nested value in a self-describing JSON's text. */
const DEEP = '@@deep@@';

/** A self-describing JSON in `ue_pr`/`ue_px` or `co`/`cx`: valid, invalid for its schema, or carrying what PostgreSQL refuses. */
function selfDescribing(g: Gen, contexts: boolean): [string, string] {
  const data = g.weighted<() => unknown>([
    [3, () => ({ sku: hostileText(g, 20), quantity: g.between(1, 5) })],
    [1, () => ({ sku: g.alnum(5), quantity: g.between(1, 5), extra: hostileJson(g, 4) })],
    [1, () => ({ sku: g.alnum(5), quantity: g.between(1, 5), deep: DEEP })],
    [1, () => hostileJson(g, 3)],
  ])();
  const inner = { schema: g.chance(0.9) ? ADD_TO_CART : `iglu:com.acme/${g.alnum(5)}/jsonschema/1-0-0`, data };
  // Deep nesting is written as text: JSON.stringify overflows the stack on it.
  const depth = g.pick([50, 900, 1500, 5000]);
  const json = JSON.stringify(contexts ? { schema: CONTEXTS, data: [inner] } : { schema: UNSTRUCT, data: inner }).replace(JSON.stringify(DEEP), `${'['.repeat(depth)}"x"${']'.repeat(depth)}`);
  const encoded = g.chance(0.5);
  const key = contexts ? (encoded ? 'cx' : 'co') : encoded ? 'ue_px' : 'ue_pr';
  return [key, encoded ? Buffer.from(json).toString('base64url') : json];
}

function rawTp2Event(g: Gen, id: string | undefined): Record<string, unknown> {
  const e = g.weighted<() => string>([[8, () => g.pick(['pv', 'se', 'ue', 'pp', 'tr', 'ti', 's'])], [1, () => `x${g.alnum(3)}`]])();
  const ev: Record<string, unknown> = { e, p: g.chance(0.9) ? 'web' : hostileText(g, 5), tv: 'pipeline-fuzz' };
  if (id !== undefined) ev.eid = id;
  for (let i = g.int(8); i > 0; i--) {
    const [k, v] = tp2Param(g);
    ev[k] = v;
  }
  if (e === 'ue' || g.chance(0.2)) {
    const [k, v] = selfDescribing(g, false);
    ev[k] = v;
  }
  if (g.chance(0.3)) {
    const [k, v] = selfDescribing(g, true);
    ev[k] = v;
  }
  return ev;
}

async function post(base: string, path: string, body: string): Promise<number> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return res.status;
}

function makeCase(index: number): Case {
  const g = new Gen(caseRng(SEED, index));
  const kind = g.weighted<string>([
    [3, 'tracker'],
    [5, 'tp2'],
    [1, 'tp2-out-of-bounds'],
    [1, 'pixel'],
    [5, 'json'],
  ]);
  switch (kind) {
    case 'tracker': {
      // Snowplow's own tracker, with seeded content: valid tp2, hostile values.
      const builders: PayloadBuilder[] = Array.from({ length: g.between(1, 12) }, () =>
        g.pick<() => PayloadBuilder>([
          () => buildPageView({ pageUrl: `https://shop.example/${encodeURIComponent(hostileText(g, 20).replace(/[\ud800-\udfff]/g, ''))}`, pageTitle: hostileText(g, 30), referrer: hostileText(g, 10) }),
          () => buildStructEvent({ category: hostileText(g, 10) || 'c', action: hostileText(g, 10) || 'a', label: hostileText(g, 10), value: g.int(1000) }),
          () => buildSelfDescribingEvent({ event: { schema: ADD_TO_CART, data: { sku: hostileText(g, 20), quantity: g.between(1, 5), unitPrice: g.int(100), currency: 'EUR' } } }),
        ])(),
      );
      const userId = g.chance(0.7) ? `pf-user-${g.alnum(4)}` : hostileText(g, 20);
      const encodeBase64 = g.chance(0.5);
      return {
        index,
        kind,
        async send(base) {
          const session = snowplowTracker(base, { bufferSize: builders.length, encodeBase64 });
          session.tracker.setUserId(userId);
          for (const b of builders) session.tracker.track(b);
          await session.flush();
          // The tracker does not say which status a failed request got: -1 stands for "refused".
          return { status: session.failed > 0 ? -1 : 200, ids: session.acknowledged };
        },
      };
    }
    case 'tp2':
    case 'tp2-out-of-bounds': {
      const n = g.between(1, 20);
      const ids: (string | undefined)[] = Array.from({ length: n }, (_, j) =>
        g.weighted<() => string | undefined>([
          [8, () => countable(index, j)],
          [1, () => undefined],
          [1, () => hostileText(g, 20)],
          // A tracker retry: the same id twice in one request (stored once).
          [1, () => countable(index, Math.max(0, j - 1))],
        ])(),
      );
      const events = ids.map((id) => rawTp2Event(g, id));
      if (kind === 'tp2-out-of-bounds') {
        const at = g.int(n);
        events[at] = g.pick<() => Record<string, unknown>>([
          () => ({ ...events[at], eid: 'x'.repeat(g.between(256, 4000)) }),
          () => ({ ...events[at], dtm: g.pick(['1e300', '-1', 'soon', '253402300800000']) }),
          () => ({ ...events[at], url: 'u'.repeat(140_000) }),
        ])();
      }
      const body = JSON.stringify({ schema: PAYLOAD_DATA, data: events });
      const counted = ids.filter((id): id is string => id !== undefined && id.startsWith(ID_PREFIX));
      return { index, kind, send: async (base) => ({ status: await post(base, TP2, body), ids: counted }) };
    }
    case 'pixel': {
      const id = countable(index, 0);
      const params = new URLSearchParams({ e: g.pick(['pv', 'se', 'ue']), eid: id, tv: 'pipeline-fuzz' });
      for (let i = g.int(6); i > 0; i--) {
        const [k, v] = tp2Param(g);
        // A query string carries text: lone surrogates cannot be percent-encoded.
        if (v !== null) params.set(k, String(v).replace(/[\ud800-\udfff]/g, ''));
      }
      if (g.chance(0.3)) params.set(...selfDescribing(g, false));
      return {
        index,
        kind,
        async send(base) {
          const res = await fetch(`${base}/i?${params.toString()}`);
          await res.arrayBuffer();
          return { status: res.status, ids: [id] };
        },
      };
    }
    default: {
      const n = g.between(1, 30);
      const ids: (string | undefined)[] = Array.from({ length: n }, (_, j) => (g.chance(0.85) ? countable(index, j) : undefined));
      const events = ids.map((id) => {
        const ev: Record<string, unknown> = { ...(hostileJson(g, 3) as object), correlationId: g.chance(0.8) ? `pf-user-${g.alnum(4)}` : hostileText(g, 20) };
        if (id !== undefined) ev.eventId = id;
        else if (g.chance(0.5)) ev.eventId = g.pick<unknown>([hostileText(g, 20), 42, null, {}, []]);
        if (g.chance(0.2)) ev.deep = nested(g.between(50, 98), hostileText(g, 10));
        if (g.chance(0.05)) ev.big = 'b'.repeat(g.between(1000, 60_000));
        // The passthrough belt applies these to the profile: hostile paths and values included.
        if (g.chance(0.2)) {
          ev.updates = Array.from({ length: g.between(1, 3) }, () => ({
            _path: g.pick<unknown>([['fuzz', g.alnum(4)], ['__proto__', 'x'], ['constructor', 'prototype'], [hostileText(g, 10)], [], 'x']),
            _value: {
              _v: hostileJson(g, 2),
              ...(g.chance(0.5) ? { _in: g.pick<unknown>([Date.now(), 1e300, -1e300, -62198755200000, 253402300799999, '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', 'soon']) } : {}),
              ...(g.chance(0.3) ? { _ttl: g.pick(['PT1S', 'P1D', 'P9999Y', 'P300000Y', 'x']) } : {}),
            },
          }));
        }
        return ev;
      });
      const body = JSON.stringify(events.length === 1 && g.chance(0.3) ? events[0] : events);
      const counted = ids.filter((id): id is string => id !== undefined);
      return { index, kind, send: async (base) => ({ status: await post(base, `/api/v1/events/${TEST_JSON_TYPE.name}`, body), ids: counted }) };
    }
  }
}

describe('pipeline fuzz', () => {
  const cfg = loadConfig();
  const queue = `pipeline-fuzz-${Date.now().toString(36)}`;
  let topic: string;
  let pool: Pool;
  let beltline: BeltlineProcess;
  let connection: Connection;
  let client: Client;

  beforeAll(async () => {
    pool = testPool();
    connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    let group: string;
    ({ topic, group } = await freshTopic('pipeline-fuzz', 2));
    beltline = await startBeltline({
      port: PORT,
      env: {
        BELTLINE_RAW_TOPIC: topic,
        BELTLINE_CONSUMER_GROUP: group,
        BELTLINE_TASK_QUEUE: queue,
        // A batch that fails on its content fails within seconds, where this test sees it,
        // instead of retrying for many minutes.
        BELTLINE_ACTIVITY_MAX_ATTEMPTS: '4',
        BELTLINE_ACTIVITY_MAX_INTERVAL: '1s',
      },
    });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
    await connection?.close();
    await pool?.end();
  }, 30_000);

  const batches = async (status: string): Promise<number> =>
    (await client.workflow.count(`WorkflowType = 'ingestBatch' AND TaskQueue = '${queue}' AND ExecutionStatus = '${status}'`)).count;

  it('leaves no batch failed, and stores every accepted event or keeps it as a bad row', async () => {
    process.stderr.write(`[pipeline-fuzz] seed ${SEED} (replay: FUZZ_SEED=${SEED} [FUZZ_ONLY=<case>]), up to ${CASES} cases or ${SECONDS} s\n`);
    const indexes = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const deadline = Date.now() + SECONDS * 1000;
    const accepted = new Map<string, number>();
    const byKind = new Map<string, Map<number, number>>();
    const serverErrors: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < indexes.length && Date.now() < deadline) {
          const c = makeCase(indexes[next++]);
          const { status, ids } = await c.send(beltline.url);
          const tally = byKind.get(c.kind) ?? new Map<number, number>();
          byKind.set(c.kind, tally);
          tally.set(status, (tally.get(status) ?? 0) + 1);
          if (status >= 500 || status === -1) serverErrors.push(`#${c.index} ${c.kind}: ${status === -1 ? 'a tracker request refused' : status}`);
          if (status >= 200 && status < 300) for (const id of ids) accepted.set(id, c.index);
        }
      }),
    );
    const summary = Object.fromEntries([...byKind].sort().map(([k, t]) => [k, Object.fromEntries([...t].sort())]));
    console.log(`[pipeline-fuzz] seed ${SEED}: ${next} cases, ${accepted.size} accepted events with ids\n${JSON.stringify(summary)}`);
    expect(serverErrors).toEqual([]);
    // Out-of-bounds requests are refused, the others accepted.
    expect(byKind.get('tp2-out-of-bounds')?.get(200)).toBeUndefined();

    const batchPrefix = `${topic}-%`;
    const found = async (): Promise<{ stored: Set<string>; bad: Set<string> }> => {
      const stored = new Set((await pool.query<{ event_id: string }>('SELECT event_id FROM events WHERE event_id = ANY($1::text[])', [[...accepted.keys()]])).rows.map((r) => r.event_id));
      const bad = new Set<string>();
      const { rows } = await pool.query<{ row: string }>('SELECT bad_row::text AS row FROM bad_rows WHERE batch_id LIKE $1', [batchPrefix]);
      for (const { row } of rows) for (const m of row.matchAll(ID_PATTERN)) bad.add(m[0]);
      return { stored, bad };
    };
    const missing = (f: { stored: Set<string>; bad: Set<string> }): string[] => [...accepted.keys()].filter((id) => !f.stored.has(id) && !f.bad.has(id));
    // Done when every accepted event is in, or a batch failed (then the assertions below say which).
    const final = await waitFor(
      'every accepted event stored or a bad row',
      async () => {
        const f = await found();
        return missing(f).length === 0 || (await batches('Failed')) > 0 ? f : undefined;
      },
      180_000,
    ).catch(async (err: Error) => {
      const f = await found();
      throw new Error(`${err.message}; ${missing(f).length} missing, e.g. ${missing(f).slice(0, 5).join(', ')} (cases ${missing(f).slice(0, 5).map((id) => accepted.get(id)).join(', ')}); ${await batches('Running')} batches running`);
    });
    await waitFor('no batch left running', async () => ((await batches('Running')) === 0 ? true : undefined), 120_000);

    const alive = beltline.child.exitCode === null && beltline.child.signalCode === null;
    const lost = missing(final);
    console.log(`[pipeline-fuzz] ${final.stored.size} stored, ${[...final.bad].filter((id) => !final.stored.has(id)).length} only as bad rows, ${await batches('Completed')} batches`);
    expect({ alive, failedBatches: await batches('Failed'), lost: lost.slice(0, 10), lostCases: [...new Set(lost.map((id) => accepted.get(id)))].slice(0, 10) }).toEqual({
      alive: true,
      failedBatches: 0,
      lost: [],
      lostCases: [],
    });
    if (ONLY === undefined) expect(next).toBeGreaterThanOrEqual(Math.min(CASES, 50));
  }, (SECONDS + 420) * 1000);
});
