import crypto from 'node:crypto';
import http from 'node:http';

/**
 * The bench's load generator, a process of its own (`node dist/bench/load.js '<json options>'`)
 * so that building and sending requests does not share an event loop with what it measures.
 *
 * It POSTs Snowplow tp2 requests to a collector, either at a fixed offered rate (open loop: a
 * request is sent when it is due, whether or not earlier ones were answered) or at full speed
 * from `concurrency` clients. Every event carries its own send time (epoch ms, in `se_la`), which
 * the bench belt writes into the profile, so latency is measured from the profile row alone.
 * Event i of a run has `uid` `<run>-<i>`: one profile row per event.
 *
 * Prints one JSON line (LoadReport) on stdout when every request was answered 200; any other
 * answer or a network error ends it with exit code 1 and the reason on stderr.
 */

export interface LoadOptions {
  /** The collector's tp2 URL. */
  url: string;
  /** Prefix of the events' user ids. */
  run: string;
  events: number;
  perRequest: number;
  /** Offered events/s; unset: full speed with `concurrency` clients. */
  rate?: number;
  concurrency?: number;
}

export interface LoadReport {
  events: number;
  requests: number;
  /** Epoch ms of the first send and the last 200. */
  firstSendAt: number;
  lastAckAt: number;
  /** Events per second offered: events over the span from first to last send. */
  sentEventsPerSec: number;
  /** Events per second the collector acknowledged: events over first send to last 200. */
  ackedEventsPerSec: number;
  /** How far, at worst, a send fell behind its schedule (fixed rate only). */
  maxBehindMs?: number;
  /** Request round trips (send to 200), ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  /** This process's own CPU time, user + system, µs. */
  cpuUs: number;
}

function body(run: string, from: number, count: number, sentAt: number): string {
  const ms = String(sentAt);
  return JSON.stringify({
    schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
    data: Array.from({ length: count }, (_, i) => ({
      e: 'se',
      eid: crypto.randomUUID(),
      uid: `${run}-${from + i}`,
      se_ca: 'bench',
      se_ac: 'tick',
      se_la: ms,
      se_va: String(from + i),
      p: 'srv',
      tv: 'bench',
      dtm: ms,
      stm: ms,
    })),
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * One POST on a kept-alive connection, resolving with status and body. node:http rather than
 * fetch: undici's fetch cost ~1.5 ms of CPU per request here (measured against the bare fastify
 * process: 3.1 s for 2,000 requests), six times what the server spent answering them, and on two
 * cores the load generator's CPU is taken from what it measures.
 */
function post(agent: http.Agent, url: URL, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const requests = Math.ceil(o.events / o.perRequest);
  const roundTrips: number[] = [];
  let firstSendAt = 0;
  let lastSendAt = 0;
  let lastAckAt = 0;
  const url = new URL(o.url);
  const agent = new http.Agent({ keepAlive: true });

  async function send(r: number): Promise<void> {
    const from = r * o.perRequest;
    const sentAt = Date.now();
    if (firstSendAt === 0) firstSendAt = sentAt;
    lastSendAt = sentAt;
    const res = await post(agent, url, body(o.run, from, Math.min(o.perRequest, o.events - from), sentAt));
    if (res.status !== 200) throw new Error(`collector answered ${res.status}: ${res.text.slice(0, 300)}`);
    const now = Date.now();
    roundTrips.push(now - sentAt);
    lastAckAt = Math.max(lastAckAt, now);
  }

  let maxBehindMs: number | undefined;
  if (o.rate !== undefined) {
    // Open loop: each tick sends every request that is due by now, so a late timer makes a
    // burst rather than a lower rate; how late the worst send was is reported.
    const intervalMs = (1000 * o.perRequest) / o.rate;
    const start = Date.now();
    const inFlight: Promise<void>[] = [];
    let failure: unknown;
    maxBehindMs = 0;
    for (let r = 0; r < requests; ) {
      if (failure !== undefined) throw failure;
      const now = Date.now();
      while (r < requests && start + r * intervalMs <= now) {
        maxBehindMs = Math.max(maxBehindMs, now - (start + r * intervalMs));
        inFlight.push(
          send(r).catch((err: unknown) => {
            failure ??= err;
          }),
        );
        r++;
      }
      if (r < requests) await sleep(Math.max(0, Math.min(intervalMs, start + r * intervalMs - Date.now())));
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  } else {
    let next = 0;
    await Promise.all(
      Array.from({ length: o.concurrency ?? 8 }, async () => {
        while (next < requests) await send(next++);
      }),
    );
  }
  agent.destroy();
  roundTrips.sort((a, b) => a - b);
  const round = (x: number): number => Math.round(x);
  return {
    events: o.events,
    requests,
    firstSendAt,
    lastAckAt,
    sentEventsPerSec: round(o.events / Math.max(0.001, (lastSendAt - firstSendAt) / 1000)),
    ackedEventsPerSec: round(o.events / Math.max(0.001, (lastAckAt - firstSendAt) / 1000)),
    ...(maxBehindMs !== undefined ? { maxBehindMs: round(maxBehindMs) } : {}),
    ackP50Ms: round(percentile(roundTrips, 50)),
    ackP99Ms: round(percentile(roundTrips, 99)),
    cpuUs: round(process.cpuUsage().user + process.cpuUsage().system),
  };
}

if (require.main === module) {
  runLoad(JSON.parse(process.argv[2] ?? '{}') as LoadOptions)
    .then((report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`load generator: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
