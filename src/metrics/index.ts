import type { AdminRoutes } from '../http/api';
import { INSTANCE_ONLY } from '../http/auth';
import http from 'node:http';
import type { InjectedSinks } from '@temporalio/worker';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { logger } from '../log';
import type { BatchSinks } from '../workflows/sinks';
import type { Readiness } from '../readiness/readiness';

const log = logger('metrics');

/**
 * beltline's Prometheus metrics, one registry per process. Each process counts what its own
 * roles do (collector: events accepted; bridge: batches started, consumer lag; worker: batches
 * completed/failed, bad rows, belt errors, apply latency); Prometheus sums over the processes.
 * They are served at `GET /metrics` on the collector's HTTP server (admin key) and, in any
 * process, on BELTLINE_METRICS_PORT (a listener of its own, for the internal network).
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const eventsAccepted = new Counter({
  name: 'beltline_events_accepted_total',
  help: 'Events the collector accepted (Kafka acknowledged), by event type (snowplow for tracker events)',
  labelNames: ['event_type'] as const,
  registers: [registry],
});

/** Produce requests on the wire (retries included): with the collector's requests sharing them, fewer than its requests. */
export const kafkaProduceRequests = new Counter({
  name: 'beltline_kafka_produce_requests_total',
  help: 'Produce requests sent to Kafka brokers, retries included, by producer client id',
  labelNames: ['client'] as const,
  registers: [registry],
});

export const batchesStarted = new Counter({
  name: 'beltline_batches_started_total',
  help: 'ingestBatch workflows the bridge started, by source topic',
  labelNames: ['topic'] as const,
  registers: [registry],
});

export const slowBatches = new Counter({
  name: 'beltline_bridge_slow_batches_total',
  help: 'Batches still running after BATCH_SLOT_TIMEOUT, whose in-flight slot the bridge gave to the next batch (look for them in the Temporal UI: retrying, or waiting for a worker)',
  registers: [registry],
});

export const batchesCompleted = new Counter({
  name: 'beltline_batches_completed_total',
  help: 'ingestBatch workflows that completed (counted by the worker that ran them)',
  registers: [registry],
});

export const batchesFailed = new Counter({
  name: 'beltline_batches_failed_total',
  help: 'ingestBatch workflows that failed after their activity retries (see beltline replay list)',
  registers: [registry],
});

export const beltErrors = new Counter({
  name: 'beltline_belt_errors_total',
  help: 'Events a belt failed on (exceptions, limits, refused outputs or updates), by belt',
  labelNames: ['belt'] as const,
  registers: [registry],
});

export const badRows = new Counter({
  name: 'beltline_bad_rows_total',
  help: 'Bad rows stored (each once), by bad-row type',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const updatesApplied = new Counter({
  name: 'beltline_updates_applied_total',
  help: 'Profile update messages applied',
  registers: [registry],
});

export const profileCacheLookups = new Counter({
  name: 'beltline_profile_cache_lookups_total',
  help: 'Profiles a batch locked, by where their state came from: hit (the worker cache, still the version it wrote), stale (cached, but written by something else since: read), miss (read)',
  labelNames: ['result'] as const,
  registers: [registry],
});

export const applyLatency = new Histogram({
  name: 'beltline_apply_batch_duration_seconds',
  help: "Time of one apply transaction: a batch's events, belt outputs and profile updates (and, for belts with a task queue of their own, a second one)",
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset; -1 when it has committed none. */
  committed: number;
  /** The partition's end offset (the next record's). */
  high: number;
  lag: number;
}

type LagSource = () => Promise<{ group: string; partitions: PartitionLag[] }>;
const lagSources = new Set<LagSource>();

export const consumerLag = new Gauge({
  name: 'beltline_consumer_lag',
  help: "Records not yet started as batches, per partition of the bridge's consumer group (read at scrape time)",
  labelNames: ['group', 'topic', 'partition'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const source of lagSources) {
      try {
        const { group, partitions } = await source();
        for (const p of partitions) this.set({ group, topic: p.topic, partition: String(p.partition) }, p.lag);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'consumer lag unavailable');
      }
    }
  },
});

/** The bridge registers how to read its lag; the returned function unregisters it. */
export function addLagSource(source: LagSource): () => void {
  lagSources.add(source);
  return () => lagSources.delete(source);
}

/** `GET /metrics` on the collector's server; behind the admin key, as the collector is public. */
export const metricsRoutes: AdminRoutes = (app) => {
  app.get(
    '/metrics',
    {
      // The process's figures cover every project: no project's key opens them.
      config: INSTANCE_ONLY,
      schema: {
        summary: 'Prometheus metrics of this process (text exposition format)',
        tags: ['operations'],
      },
    },
    async (_req, reply) => reply.header('content-type', registry.contentType).send(await registry.metrics()),
  );
}

/** A plain listener serving `GET /metrics` (no key: bind it to an internal address). */
export async function startMetricsServer(host: string, port: number, readiness?: Readiness): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const route = req.method === 'GET' ? (req.url ?? '').split('?')[0] : '';
    // The probes too, for a process without the collector's HTTP server (a worker, a bridge).
    if (readiness && route === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (readiness && route === '/ready') {
      readiness
        .probe()
        .then((a) => res.writeHead(a.ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(a.body)))
        .catch((err: unknown) => {
          log.warn({ err }, 'readiness probe failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('readiness probe failed\n');
        });
      return;
    }
    if (route !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: GET /metrics${readiness ? ', /health or /ready' : ''}\n`);
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((err: unknown) => {
        log.warn({ err }, 'metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const url = `http://${host}:${port}/metrics`;
  log.info({ url }, 'metrics listening');
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The worker's side of the batch workflows' sinks: count and log how each batch ended. */
export function batchSinks(): InjectedSinks<BatchSinks> {
  const batchLog = logger('batch');
  return {
    batches: {
      completed: {
        fn(info, summary) {
          batchesCompleted.inc();
          batchLog.info({ workflowId: info.workflowId, runId: info.runId, ...summary }, 'batch completed');
        },
      },
      failed: {
        fn(info, reason) {
          batchesFailed.inc();
          batchLog.error({ workflowId: info.workflowId, runId: info.runId, reason }, 'batch failed after its retries; replay it with `beltline replay run`');
        },
      },
    },
  };
}
