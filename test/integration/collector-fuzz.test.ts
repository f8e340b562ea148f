import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ensureEventType, startBeltline, TEST_JSON_TYPE, type BeltlineProcess } from '../support/beltline';
import { freshTopic, recordCount } from '../support/kafka';
import { caseRng, Gen } from '../support/fuzz';

/**
 * Random and malformed requests against a collector: it must answer every one with 2xx or 4xx
 * (never 5xx, never a dropped connection), stay up, and write exactly one Kafka record per
 * accepted request, never one for a refused request.
 *
 * Each case is generated from (seed, index) alone, so `FUZZ_SEED=<seed> FUZZ_ONLY=<index>`
 * replays one case. FUZZ_CASES and FUZZ_SECONDS bound the run (count and time, on 2 cores).
 */

const PORT = 18152;
// The production default: near-limit bodies then test what Kafka's own record limit (~1 MB) does.
const BODY_LIMIT = 1_000_000;
// Fields up to the body limit, so near-limit bodies (one large field) still reach Kafka's limit;
// the bounds cases use this cap.
const FIELD_LIMIT = 200_000;
const SEED = Number(process.env.FUZZ_SEED ?? crypto.randomInt(2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 8000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 100);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
const CONCURRENCY = 6;
const TP2 = '/com.snowplowanalytics.snowplow/tp2';
const PAYLOAD_DATA = 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4';

// ---------------------------------------------------------------------------------------------
// Cases

type Expect = number | '2xx' | '4xx' | 'any';

interface Case {
  index: number;
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Send the body with Transfer-Encoding: chunked, in pieces. */
  chunked?: boolean;
  /** What this case must get besides "2xx or 4xx", when the right answer is certain. */
  expect: Expect;
}

const TP2_KEYS = [
  'e', 'eid', 'p', 'tv', 'tna', 'aid', 'uid', 'duid', 'nuid', 'tnuid', 'url', 'page', 'refr', 'ue_pr', 'ue_px', 'co', 'cx',
  'se_ca', 'se_ac', 'se_la', 'se_pr', 'se_va', 'dtm', 'stm', 'ttm', 'res', 'vp', 'ds', 'cs', 'cd', 'cookie', 'lang', 'tz',
  'tr_id', 'tr_tt', 'ti_id', 'ip', 'ua', 'vid', 'sid', 'fp',
] as const;
const EVENT_CODES = ['pv', 'pp', 'se', 'ue', 'tr', 'ti', 'ad', 's'] as const;

function tp2Value(g: Gen): string | number | boolean | null {
  return g.weighted<() => string | number | boolean | null>([
    [8, () => g.text(40)],
    [1, () => g.pick([0, -1, 1.5, 1e21, -1e-7, Number.MAX_SAFE_INTEGER + 2, 2 ** 64])],
    [1, () => g.chance(0.5)],
    [1, () => null],
    [1, () => crypto.randomUUID()],
  ])();
}

const TIME_KEYS = new Set(['dtm', 'stm', 'ttm']);

/** A time parameter within the collector's bounds (epoch ms in 1970..9999, or empty). */
function tp2Time(g: Gen): string | number {
  return g.weighted<() => string | number>([
    [6, () => String(Date.now() - g.int(1e9))],
    [1, () => g.pick(['', '0', '253402300799999', 1700000000000])],
  ])();
}

/** One tracker event with an event code (valid) plus random known and unknown parameters, within the collector's bounds. */
function tp2Event(g: Gen): Record<string, string | number | boolean | null> {
  const ev: Record<string, string | number | boolean | null> = { e: g.chance(0.9) ? g.pick(EVENT_CODES) : `x${g.text(10)}` };
  for (let i = g.int(12); i > 0; i--) {
    const key = g.chance(0.8) ? g.pick(TP2_KEYS.slice(1)) : `k_${g.alnum(g.between(1, 12))}`;
    ev[key] = TIME_KEYS.has(key) ? tp2Time(g) : tp2Value(g);
  }
  if (g.chance(0.2)) ev.uid = `fuzz-${g.alnum(8)}`;
  return ev;
}

/** One way out of the collector's bounds (default caps), on one event: the 400 names that event and field. */
function outOfBounds(g: Gen): { field: string; value: string | number } {
  return g.pick<() => { field: string; value: string | number }>([
    () => ({ field: g.pick(['eid', 'uid', 'duid', 'nuid', 'tnuid', 'sid']), value: g.alnum(g.between(256, 5000)) }),
    () => ({ field: g.pick(['dtm', 'stm', 'ttm']), value: g.pick<string | number>([1e300, -1, '-62198755200000', '253402300800000', 'yesterday', '1.5', '0x10', 1e21]) }),
    () => ({ field: g.pick(['url', 'page', 'ue_px', 'cx', 'k_free']), value: 'v'.repeat(FIELD_LIMIT + 1 + g.int(1000)) }),
  ])();
}

function tp2Body(g: Gen): { schema: string; data: Record<string, unknown>[] } {
  return {
    schema: `iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-${g.int(5)}`,
    data: Array.from({ length: g.between(1, 5) }, () => tp2Event(g)),
  };
}

function jsonValue(g: Gen, depth: number): unknown {
  if (depth <= 0 || g.chance(0.4)) return g.pick<() => unknown>([() => g.text(20), () => g.int(1e6) - 5e5, () => g.chance(0.5), () => null, () => 1.25e300])();
  if (g.chance(0.5)) return Array.from({ length: g.int(4) }, () => jsonValue(g, depth - 1));
  return Object.fromEntries(Array.from({ length: g.int(4) }, () => [g.chance(0.5) ? g.text(8) : g.alnum(6), jsonValue(g, depth - 1)]));
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/json; charset=UTF-8'];
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const post = (index: number, kind: string, p: string, body: Buffer, expect: Expect, contentType = 'application/json'): Case => ({
  index,
  kind,
  method: 'POST',
  path: p,
  headers: { 'content-type': contentType },
  body,
  expect,
});

/** A JSON document made exactly `size` bytes by a run of "x" in one string value; `at`/`length` locate the run. */
function sizedBody(build: (filler: string) => unknown, size: number): { bytes: Buffer; at: number; length: number } {
  const base = Buffer.byteLength(JSON.stringify(build('')));
  const length = Math.max(0, size - base);
  const filler = 'x'.repeat(length);
  const bytes = Buffer.from(JSON.stringify(build(filler)));
  return { bytes, at: bytes.indexOf(filler), length };
}

/**
 * Like sizedBody, with the filler cut into `parts` runs of different letters, one per string
 * value, so that no one field passes the collector's field cap; `runs` locate them.
 */
function sizedBodyParts(build: (fillers: string[]) => unknown, size: number, parts: number): { bytes: Buffer; runs: { at: number; length: number }[] } {
  const base = Buffer.byteLength(JSON.stringify(build(Array.from({ length: parts }, () => ''))));
  const total = Math.max(0, size - base);
  const fillers = Array.from({ length: parts }, (_, i) => 'abcdefghijklmnop'[i].repeat(Math.floor(total / parts) + (i < total % parts ? 1 : 0)));
  const bytes = Buffer.from(JSON.stringify(build(fillers)));
  let from = 0;
  const runs = fillers.map((f) => {
    const at = bytes.indexOf(f, from);
    from = at + f.length;
    return { at, length: f.length };
  });
  return { bytes, runs };
}

/** Percent-encoding of random bytes: valid UTF-8 or not, sometimes malformed escapes. */
function queryValue(g: Gen, maxLen: number): string {
  return g.weighted<() => string>([
    [6, () => encodeURIComponent(g.text(maxLen).replace(/[\ud800-\udfff]/g, ''))],
    [2, () => Array.from({ length: g.int(maxLen) }, () => `%${g.int(256).toString(16).padStart(2, '0').toUpperCase()}`).join('')],
    [1, () => g.pick(['%', '%G1', '%E0%A4%A', '%%', '%u0041', '%00', '+', '%2B%20+'])],
    [1, () => Array.from({ length: g.int(maxLen) }, () => String.fromCharCode(g.between(0x21, 0xff))).join('').replace(/[&#]/g, '')],
  ])();
}

function randomQuery(g: Gen): string {
  const parts: string[] = [];
  for (let i = g.int(15); i > 0; i--) {
    parts.push(
      g.weighted<() => string>([
        [6, () => `${g.pick(TP2_KEYS)}=${queryValue(g, 30)}`],
        [1, () => `${queryValue(g, 8)}=${queryValue(g, 8)}`],
        [1, () => g.pick(['', '=', '==', 'e', 'e=', '&', 'e[]=pv', 'e[0]=pv', '__proto__=x', 'constructor=x', 'hasOwnProperty=x', 'toString=1'])],
      ])(),
    );
  }
  return parts.join(g.chance(0.9) ? '&' : g.pick([';', '&&', '&amp;']));
}

/** Event-type names as a path segment: valid, unknown, and everything a router may trip on. */
function eventTypeSegment(g: Gen): { segment: string; expect: Expect } {
  return g.weighted<() => { segment: string; expect: Expect }>([
    [4, () => ({ segment: 'test-json', expect: 'any' })],
    [2, () => ({ segment: `no-such-${g.alnum(8)}`, expect: 404 })],
    [1, () => ({ segment: `a${g.alnum(63)}`, expect: 400 })],
    [1, () => ({ segment: encodeURIComponent(g.text(30).replace(/[\ud800-\udfff]/g, '')) || 'x', expect: 'any' })],
    [1, () => ({ segment: g.pick(['%00', '%2F', '..', '.', '%2e%2e', '%', '%ZZ', '%C0%AF', '%FF', 'a%00b', 'test-json%2F..', 'test-json;x=1', '_x', '-x', 'x'.repeat(5000)]), expect: 'any' })],
    [1, () => ({ segment: Array.from({ length: g.between(1, 20) }, () => String.fromCharCode(g.between(0x21, 0xff))).join('').replace(/[?#/]/g, ''), expect: 'any' })],
  ])();
}

function makeCase(index: number): Case {
  const g = new Gen(caseRng(SEED, index));
  const kind = g.weighted<string>([
    [14, 'tp2-valid'],
    [8, 'tp2-invalid'],
    [4, 'tp2-bounds'],
    [8, 'truncated'],
    [4, 'garbage'],
    [5, 'invalid-utf8'],
    [1.5, 'near-limit'],
    [3, 'deep-nesting'],
    [14, 'get-i'],
    [2, 'head-i'],
    [5, 'content-type'],
    [12, 'json-events'],
    [3, 'proto'],
    [3, 'chunked'],
    [3, 'method'],
    [2, 'options'],
  ]);
  switch (kind) {
    case 'tp2-valid': {
      const c = post(index, kind, TP2, json(tp2Body(g)), 200, g.pick(JSON_TYPES));
      if (g.chance(0.2)) c.headers['sp-anonymous'] = '*';
      if (g.chance(0.3)) c.headers.cookie = `sp=${g.pick([crypto.randomUUID(), g.alnum(36), '', 'x;y', g.alnum(5000)])}`;
      if (g.chance(0.3)) c.headers['user-agent'] = Array.from({ length: g.int(300) }, () => String.fromCharCode(g.between(0x20, 0x7e))).join('');
      if (g.chance(0.1)) c.headers['x-forwarded-for'] = g.pick(['1.2.3.4', 'garbage', '::1, 10.0.0.1', '']);
      return c;
    }
    case 'tp2-bounds': {
      const body = tp2Body(g);
      const at = g.int(body.data.length);
      const { field, value } = outOfBounds(g);
      body.data[at] = { ...body.data[at], [field]: value };
      return post(index, `${kind}:${field}`, TP2, json(body), 400, g.pick(JSON_TYPES));
    }
    case 'tp2-invalid': {
      const good = tp2Body(g);
      const body = g.pick<() => unknown>([
        () => ({ ...good, schema: g.pick(['iglu:com.acme/payload_data/jsonschema/1-0-4', 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-5', '', 42, null]) }),
        () => ({ data: good.data }),
        () => ({ schema: good.schema, data: [] }),
        () => ({ schema: good.schema, data: g.pick([null, {}, 'pv', 3, good.data[0]]) }),
        () => ({ schema: good.schema, data: [...good.data, g.pick([null, 'x', 7, [], [good.data[0]]])] }),
        () => ({ schema: good.schema, data: good.data.map((e, i) => (i === 0 ? { ...e, e: g.pick([undefined, '', null]) } : e)) }),
        () => ({ schema: good.schema, data: good.data.map((e, i) => (i === 0 ? { ...e, [g.pick(TP2_KEYS)]: g.pick([{}, [], { a: 1 }, ['x']]) } : e)) }),
        () => g.pick([[good], [], 'string', 42, true, null, [[]]]),
      ])();
      return post(index, kind, TP2, json(body), 400, g.pick(JSON_TYPES));
    }
    case 'truncated': {
      const toJson = g.chance(0.5);
      const full = json(toJson ? Array.from({ length: g.between(1, 3) }, () => jsonValue(g, 3)).map((v) => ({ v })) : tp2Body(g));
      return post(index, kind, toJson ? '/api/v1/events/test-json' : TP2, full.subarray(0, g.int(full.length)), 400);
    }
    case 'garbage': {
      const bytes = crypto.createHash('sha512').update(`${SEED}:${index}`).digest();
      const body = Buffer.concat(Array.from({ length: g.between(0, 40) }, (_, i) => bytes.subarray(i % 64, (i % 64) + 1)));
      const toJson = g.chance(0.3);
      return post(index, kind, toJson ? '/api/v1/events/test-json' : TP2, body, toJson ? 'any' : '4xx', g.pick(JSON_TYPES));
    }
    case 'invalid-utf8': {
      // Valid JSON structure whose string values hold bytes that are not UTF-8.
      const marker = `@@${g.alnum(6)}@@`;
      const toJson = g.chance(0.3);
      const doc = toJson ? { userId: marker, note: `a${marker}b` } : { schema: PAYLOAD_DATA, data: [{ e: 'pv', url: marker, page: `t${marker}` }] };
      const text = JSON.stringify(doc);
      const pieces = text.split(marker);
      const body = Buffer.concat(pieces.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [Buffer.concat(Array.from({ length: g.between(1, 20) }, () => g.invalidUtf8())), Buffer.from(p)])));
      return post(index, kind, toJson ? '/api/v1/events/test-json' : TP2, body, 'any', g.pick(JSON_TYPES));
    }
    case 'near-limit': {
      const delta = g.pick([-1000, -10, -1, 0, 1, 10, 5000]);
      const size = BODY_LIMIT + delta;
      const toJson = g.chance(0.3);
      const flavour = g.pick(['ascii', 'ascii', 'invalid-utf8', 'multibyte', 'numbers']);
      const route = toJson ? '/api/v1/events/test-json' : TP2;
      let body: Buffer;
      if (flavour === 'numbers') {
        // Numbers JSON.stringify writes longer than they came (1e20 is 100000000000000000000).
        const [head, unit, tail] = toJson
          ? [`{"userId":"fuzz-${index}","n":[`, '1e20,', '1e20]}']
          : [`{"schema":"${PAYLOAD_DATA}","data":[`, '{"e":"pv","n":1e20},', '{"e":"pv"}]}'];
        const units = Math.floor((size - head.length - tail.length) / unit.length);
        const text = head + unit.repeat(units) + tail;
        body = Buffer.from(text.slice(0, -1) + ' '.repeat(size - text.length) + text.slice(-1));
      } else {
        // Eight fields of ~125 KB: under the collector's field cap, together at the body limit.
        const fields = (fillers: string[]) => Object.fromEntries(fillers.map((f, i) => [`blob${i}`, f]));
        const sized = sizedBodyParts(
          (fillers) => (toJson ? { userId: `fuzz-${index}`, ...fields(fillers) } : { schema: PAYLOAD_DATA, data: [{ e: 'pv', uid: `fuzz-${index}`, ...fields(fillers) }] }),
          size,
          8,
        );
        body = Buffer.from(sized.bytes);
        // Same byte count either way, so the size class stays: "x\xff" (not UTF-8) or "é" (2 bytes).
        if (flavour !== 'ascii') {
          for (const run of sized.runs) {
            for (let i = run.at; i + 1 < run.at + run.length; i += 2) {
              if (flavour === 'invalid-utf8') body[i] = 0xff;
              else body.set([0xc3, 0xa9], i);
            }
          }
        }
      }
      const expect: Expect = body.length > BODY_LIMIT ? 413 : flavour === 'ascii' || flavour === 'multibyte' ? 200 : 'any';
      return { ...post(index, `${kind}-${flavour}`, route, body, expect), chunked: g.chance(0.2) };
    }
    case 'deep-nesting': {
      const depth = g.pick([10, 100, 1000, 5000, 20_000, 100_000, 400_000]);
      const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const toJson = g.chance(0.6);
      const body = toJson ? `{"userId":"fuzz-${index}","deep":${nested}}` : `{"schema":"${PAYLOAD_DATA}","data":[{"e":"pv","x":${nested}}]}`;
      return post(index, `${kind}-${depth}`, toJson ? '/api/v1/events/test-json' : TP2, Buffer.from(body), toJson ? 'any' : 400);
    }
    case 'get-i':
    case 'head-i': {
      const valid = g.chance(0.35);
      const q = valid
        ? [
            `e=${g.pick(EVENT_CODES)}`,
            ...Array.from({ length: g.int(10) }, () => {
              const key = g.pick(TP2_KEYS.slice(1));
              return `${key}=${encodeURIComponent(TIME_KEYS.has(key) ? String(tp2Time(g)) : g.text(30).replace(/[\ud800-\udfff]/g, ''))}`;
            }),
          ]
            .filter((p, i, all) => all.findIndex((o) => o.split('=')[0] === p.split('=')[0]) === i)
            .join('&')
        : g.chance(0.05)
          ? `e=pv&url=${'a'.repeat(g.pick([8000, 15_000, 17_000, 20_000]))}`
          : randomQuery(g);
      return { index, kind, method: kind === 'head-i' ? 'HEAD' : 'GET', path: `/i${q || g.chance(0.5) ? `?${q}` : ''}`, headers: {}, expect: valid ? 200 : 'any' };
    }
    case 'content-type': {
      const type = g.pick([
        'text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream',
        '', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/jsonx', 'APPLICATION/JSON', 'application/json;',
        'text/json', 'application/vnd.api+json', 'application/json, text/plain', 'application/json; charset="utf-8"', '*/*', 'none',
      ]);
      const toJson = g.chance(0.3);
      const c = post(index, `${kind}:${type}`, toJson ? '/api/v1/events/test-json' : TP2, json(toJson ? { userId: `fuzz-${index}` } : tp2Body(g)), 'any', type);
      if (type === 'none') delete c.headers['content-type'];
      return c;
    }
    case 'json-events': {
      const { segment, expect } = eventTypeSegment(g);
      const query = g.chance(0.15) ? `?project=${g.pick(['default', 'other', '', '%00', 'default&project=default', encodeURIComponent(g.text(10).replace(/[\ud800-\udfff]/g, ''))])}` : '';
      const body = g.weighted<() => [unknown, Expect]>([
        [4, () => [{ eventId: crypto.randomUUID(), correlationId: `fuzz-${g.alnum(6)}`, ...(jsonValue(g, 3) as object) }, 200]],
        [3, () => [Array.from({ length: g.between(1, 5) }, () => ({ correlationId: `fuzz-${g.alnum(6)}`, v: jsonValue(g, 3) })), 200]],
        [1, () => [[], 400]],
        [2, () => [jsonValue(g, 3), 'any']],
        [1, () => [[{ a: 1 }, g.pick([1, 'x', null, [], true])], 400]],
      ])();
      // Routing comes first, then the project (its name's rule 400, unknown 404, write key), then
      // validation (params, then body), the event-type lookup last.
      const projectAnswer: Expect | undefined =
        query === '' || query === '?project=default'
          ? undefined
          : query === '?project=other'
            ? 404
            : ['?project=', '?project=%00', '?project=default&project=default'].includes(query)
              ? 400
              : 'any';
      // A segment the router itself refuses (too long, bad escapes) is answered before the project.
      const routable = segment === 'test-json' || expect !== 'any';
      let certain: Expect = 'any';
      if (projectAnswer !== undefined) certain = routable ? projectAnswer : 'any';
      else if (segment === 'test-json' && query === '') certain = body[1];
      else if (expect === 400) certain = 400;
      else if (expect === 404 && query === '') certain = body[1] === 200 ? 404 : 'any';
      return post(index, kind, `/api/v1/events/${segment}${query}`, json(body[0]), certain);
    }
    case 'proto': {
      const toJson = g.chance(0.5);
      const poison = g.pick(['{"__proto__":{"polluted":"yes"}}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"a":{"__proto__":[]}}']);
      const body = toJson
        ? `{"userId":"fuzz-${index}","x":${poison}}`
        : `{"schema":"${PAYLOAD_DATA}","data":[{"e":"pv","x":"1"}],"extra":${poison}}`;
      return post(index, kind, toJson ? '/api/v1/events/test-json' : TP2, Buffer.from(body), 400);
    }
    case 'chunked': {
      const over = g.chance(0.2);
      const doc = over ? sizedBody((f) => ({ schema: PAYLOAD_DATA, data: [{ e: 'pv', url: f }] }), BODY_LIMIT + 1 + g.int(50_000)).bytes : json(tp2Body(g));
      return { ...post(index, kind, TP2, doc, over ? 413 : 200), chunked: true };
    }
    case 'method': {
      const [method, p] = g.pick([
        ['PUT', TP2], ['DELETE', TP2], ['PATCH', TP2], ['GET', TP2], ['POST', '/i'], ['PUT', '/i'], ['GET', '/api/v1/events/test-json'],
        ['POST', `${TP2}/`], ['POST', `/${TP2}`], ['POST', TP2.toUpperCase()], ['POST', '/com.snowplowanalytics.iglu/v1'], ['POST', '/r/tp2'],
      ] as const);
      const hasBody = method !== 'GET';
      return { index, kind: `${kind}:${method} ${p}`, method, path: p, headers: hasBody ? { 'content-type': 'application/json' } : {}, body: hasBody ? json(tp2Body(g)) : undefined, expect: '4xx' };
    }
    default: {
      const headers: Record<string, string> = { origin: g.pick(['https://shop.example', 'null', 'http://127.0.0.1:1', `https://${g.alnum(10)}.example`]) };
      if (g.chance(0.8)) headers['access-control-request-method'] = g.pick(['POST', 'GET', 'PUT', 'X']);
      if (g.chance(0.6)) headers['access-control-request-headers'] = g.pick(['content-type', 'content-type, sp-anonymous', 'x-weird', '']);
      return { index, kind: 'options', method: 'OPTIONS', path: g.pick([TP2, '/i', '/api/v1/events/test-json']), headers, expect: 'any' };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sending

interface Outcome {
  status?: number;
  /** The answer's Connection header. */
  connection?: string;
  /** Set when no (clean) answer came: reset, hang-up, time-out, bytes after the answer. */
  error?: string;
  body: string;
  /** Sent on a connection of its own, as a request that is not valid HTTP/1.1. */
  ownSocket: boolean;
}

/**
 * Requests the HTTP parser itself refuses, before any route: raw non-ASCII bytes in the request
 * line, or a request head over Node's 16 KiB. The server answers them and closes the connection;
 * they go on a connection of their own, so the pooled ones only ever see requests that parse.
 */
function notHttp(c: Case): boolean {
  return /[^\x21-\x7e]/.test(c.path) || c.path.length > 16_000;
}

function send(agent: http.Agent, c: Case): Promise<Outcome> {
  return new Promise((resolve) => {
    const ownSocket = notHttp(c);
    let settled = false;
    let status: number | undefined;
    let connection: string | undefined;
    const done = (o: Omit<Outcome, 'status' | 'connection' | 'ownSocket'>): void => {
      if (!settled) {
        settled = true;
        resolve({ status, connection, ownSocket, ...o });
      }
    };
    const headers: Record<string, string | number> = { ...c.headers };
    if (c.body && !c.chunked) headers['content-length'] = c.body.length;
    let req: http.ClientRequest;
    try {
      req = http.request({ agent: ownSocket ? false : agent, host: '127.0.0.1', port: PORT, method: c.method, path: c.path, headers });
    } catch (err) {
      // Node refuses to send it (e.g. characters a request line cannot hold): nothing reached the server.
      done({ error: `client refused: ${(err as Error).message}`, body: '' });
      return;
    }
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('response', (res) => {
      status = res.statusCode;
      connection = res.headers.connection;
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (d: Buffer) => {
        if (kept < 2000) chunks.push(d);
        kept += d.length;
      });
      // Let a parse error right after a HEAD answer (a body it must not have) win over 'end'.
      res.on('end', () => setImmediate(() => done({ body: Buffer.concat(chunks).toString('utf8').slice(0, 2000) })));
      res.on('error', (err) => done({ error: `answer broken: ${err.message}`, body: '' }));
    });
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      const what = status === undefined ? '' : code.startsWith('HPE_') ? 'bytes that are not HTTP after the answer: ' : 'after the answer: ';
      done({ error: `${what}${code} ${err.message}`.trim(), body: '' });
    });
    if (c.body && c.chunked) {
      const body = c.body;
      const step = Math.max(1, Math.ceil(body.length / 7));
      for (let i = 0; i < body.length; i += step) req.write(body.subarray(i, i + step));
    } else if (c.body) req.write(c.body);
    req.end();
  });
}

function statusClass(s: number): string {
  return `${Math.floor(s / 100)}xx`;
}

function matches(expect: Expect, status: number): boolean {
  if (expect === 'any') return true;
  if (typeof expect === 'number') return status === expect;
  return statusClass(status) === expect;
}

/** A failing case, printable: enough to see the input and to replay it with FUZZ_ONLY. */
function describeCase(c: Case, o: Outcome, why: string): string {
  const preview = c.body ? JSON.stringify(c.body.subarray(0, 160).toString('latin1')) : '(no body)';
  const p = c.path.length > 160 ? `${c.path.slice(0, 160)}… (${c.path.length} chars)` : c.path;
  return (
    `#${c.index} ${c.kind}: ${why}\n    ${c.method} ${p} ${JSON.stringify(c.headers).slice(0, 300)}${c.chunked ? ' chunked' : ''}` +
    `${o.ownSocket ? ' (not valid HTTP: own connection)' : ''}\n` +
    `    body ${c.body?.length ?? 0} bytes: ${preview}${(c.body?.length ?? 0) > 160 ? '…' : ''}\n` +
    `    answer: ${o.status ?? '-'} ${o.error ?? ''} ${o.body.slice(0, 300)}`
  );
}

describe('collector fuzz', () => {
  let beltline: BeltlineProcess;
  let topic: string;

  beforeAll(async () => {
    ({ topic } = await freshTopic('collector-fuzz'));
    beltline = await startBeltline({
      roles: ['collector'],
      port: PORT,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_MAX_BODY_BYTES: String(BODY_LIMIT), BELTLINE_MAX_FIELD_BYTES: String(FIELD_LIMIT) },
    });
    await ensureEventType(beltline.url, TEST_JSON_TYPE);
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
  });

  it('answers every random or malformed request with 2xx or 4xx, stays up, and writes one Kafka record per accepted request', async () => {
    process.stderr.write(`[fuzz] seed ${SEED} (replay: FUZZ_SEED=${SEED} [FUZZ_ONLY=<case>]), up to ${CASES} cases or ${SECONDS} s\n`);
    const indexes = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const deadline = Date.now() + SECONDS * 1000;
    const started = Date.now();
    const failed: { c: Case; o: Outcome; why: string }[] = [];
    const byKind = new Map<string, Map<string, number>>();
    let accepted = 0;
    let sent = 0;
    let next = 0;

    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < indexes.length && Date.now() < deadline) {
          const c = makeCase(indexes[next++]);
          const o = await send(agent, c);
          sent++;
          const tally = byKind.get(c.kind.split(':')[0]) ?? new Map<string, number>();
          byKind.set(c.kind.split(':')[0], tally);
          const key = o.status === undefined ? 'no answer' : String(o.status);
          tally.set(key, (tally.get(key) ?? 0) + 1);
          if (o.error?.startsWith('client refused')) continue;
          let why: string | undefined;
          if (o.status === undefined) why = `no answer (${o.error})`;
          else if (o.error) why = o.error;
          else if (o.status >= 500) why = `${o.status}: a server error`;
          else if (o.status < 200 || (o.status >= 300 && o.status < 400)) why = `unexpected ${o.status}`;
          else if (!matches(c.expect, o.status)) why = `expected ${c.expect}, got ${o.status}`;
          // The server closes such a connection: HTTP/1.1 says so with "Connection: close", or a
          // keep-alive client sends its next request into a closed connection and loses it.
          else if (o.ownSocket && o.connection?.toLowerCase() !== 'close') why = `${o.status} without "Connection: close" on a connection the server closes`;
          if (why) failed.push({ c, o, why });
          // Each accepted request, whatever its route, is one Kafka record; a preflight writes none.
          if (o.status !== undefined && o.status >= 200 && o.status < 300 && c.method !== 'OPTIONS') accepted++;
        }
      }),
    );
    agent.destroy();
    const seconds = (Date.now() - started) / 1000;

    const health = await fetch(`${beltline.url}/health`);
    const alive = beltline.child.exitCode === null && beltline.child.signalCode === null;
    const records = await recordCount(topic);
    // A write the collector gave up on could still land late: look again after a moment.
    await new Promise((r) => setTimeout(r, 3000));
    const recordsLater = await recordCount(topic);

    const summary = Object.fromEntries([...byKind].sort().map(([k, t]) => [k, Object.fromEntries([...t].sort())]));
    console.log(
      `[fuzz] seed ${SEED}: ${sent} cases in ${seconds.toFixed(1)} s, ${accepted} accepted, ${records} Kafka records, ${failed.length} failing\n` +
        JSON.stringify(summary),
    );
    if (failed.length > 0) {
      const file = path.join(os.tmpdir(), `beltline-fuzz-${SEED}.json`);
      fs.writeFileSync(file, JSON.stringify(failed.map(({ c, o }) => ({ ...c, body: c.body?.toString('base64'), answer: o })), null, 1));
      console.log(`[fuzz] ${failed.length} failing cases, with their bodies in base64: ${file}`);
    }

    expect({ alive, health: health.status }).toEqual({ alive: true, health: 200 });
    // One line per kind of failure, with its count and the first case, so distinct bugs stand out.
    const kinds = new Map<string, { count: number; first: string }>();
    for (const { c, o, why } of failed.sort((a, b) => a.c.index - b.c.index)) {
      const key = `${c.kind.split(':')[0].replace(/-\d+$/, '')}: ${why}`;
      const k = kinds.get(key) ?? { count: 0, first: describeCase(c, o, why) };
      k.count++;
      kinds.set(key, k);
    }
    expect(Object.fromEntries([...kinds].map(([key, k]) => [key, `${k.count} case(s), first ${k.first}`]))).toEqual({});
    expect({ records, recordsLater }).toEqual({ records: accepted, recordsLater: accepted });
    if (ONLY === undefined) expect(sent).toBeGreaterThanOrEqual(Math.min(CASES, 1000));
  }, (SECONDS + 120) * 1000);
});
