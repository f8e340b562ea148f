import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import type { Config } from '../config';
import { quoteIdent } from '../db/sql';
import { createKafka } from '../kafka/producer';
import { consumerGroupLag } from '../bridge/lag';
import type { PartitionLag } from '../metrics';
import { DEFAULT_PROJECT, projectSchema } from '../projects/names';
import { listFailedBatches, type FailedBatch } from '../replay/replay';

export type Section<T> = { ok: true; value: T } | { ok: false; service: 'PostgreSQL' | 'Kafka' | 'Temporal'; error: string };

export interface StatusReport {
  since: string;
  /** Services that could not be reached; the CLI exits 3 when any. */
  unreachable: string[];
  lag: Section<{ group: string; total: number; partitions: PartitionLag[] }>;
  failingBelts: Section<{ belt: string; errors: number; lastAt: string; lastError: string }[]>;
  badRows: Section<{ type: string; count: number }[]>;
  failedBatches: Section<FailedBatch[]>;
}

async function section<T>(service: 'PostgreSQL' | 'Kafka' | 'Temporal', fn: () => Promise<T>, timeoutMs = 15_000): Promise<Section<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    return { ok: true, value: await Promise.race([fn(), timeout]) };
  } catch (err) {
    return { ok: false, service, error: (err as Error).message || String(err) };
  } finally {
    clearTimeout(timer);
  }
}

async function kafkaLag(cfg: Config): Promise<{ group: string; total: number; partitions: PartitionLag[] }> {
  const admin = createKafka(cfg, 'beltline-status').admin();
  await admin.connect();
  try {
    const group = cfg.BELTLINE_CONSUMER_GROUP;
    const committed = await admin.fetchOffsets({ groupId: group });
    const topics = [...new Set([cfg.BELTLINE_RAW_TOPIC, ...committed.map((t) => t.topic)])];
    const partitions = await consumerGroupLag(admin, group, topics);
    return { group, total: partitions.reduce((n, p) => n + p.lag, 0), partitions };
  } finally {
    await admin.disconnect();
  }
}

/**
 * The pipeline's health since `since` (the CLI: the last hour): the bridge's consumer lag, belts
 * with errors, bad rows by type, and failed batches. Each part asks its own service; one that
 * cannot be reached is reported as such, and the others still answer. Belt errors and bad rows are
 * `project`'s; lag and failed batches are the deployment's.
 */
export async function gatherStatus(cfg: Config, since: string, project: string = DEFAULT_PROJECT): Promise<StatusReport> {
  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 2, connectionTimeoutMillis: 5000, options: `-c search_path=${quoteIdent(projectSchema(project))},public` });
  pool.on('error', () => undefined);
  let connection: Connection | undefined;
  try {
    const [lag, failingBelts, badRows, failedBatches] = await Promise.all([
      section('Kafka', () => kafkaLag(cfg)),
      section('PostgreSQL', async () => {
        const { rows } = await pool.query<{ belt: string; errors: number; last_at: Date; last_error: string }>(
          `SELECT belt, count(*)::int AS errors, max(created_at) AS last_at,
                  (array_agg(coalesce(error->>'message', error::text) ORDER BY created_at DESC))[1] AS last_error
             FROM belt_outputs WHERE error IS NOT NULL AND created_at >= $1
            GROUP BY belt ORDER BY errors DESC, belt`,
          [since],
        );
        return rows.map((r) => ({ belt: r.belt, errors: r.errors, lastAt: r.last_at.toISOString(), lastError: r.last_error }));
      }),
      section('PostgreSQL', async () => {
        const { rows } = await pool.query<{ type: string; count: number }>(
          'SELECT type, count(*)::int AS count FROM bad_rows WHERE created_at >= $1 GROUP BY type ORDER BY count DESC, type',
          [since],
        );
        return rows;
      }),
      section('Temporal', async () => {
        connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS, connectTimeout: '5s' });
        const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
        return listFailedBatches(client, { taskQueue: cfg.BELTLINE_TASK_QUEUE, closedSince: since }, 100);
      }),
    ]);
    const unreachable = [...new Set([lag, failingBelts, badRows, failedBatches].flatMap((s) => (s.ok ? [] : [s.service])))];
    return { since, unreachable, lag, failingBelts, badRows, failedBatches };
  } finally {
    await pool.end().catch(() => undefined);
    await connection?.close().catch(() => undefined);
  }
}

/** The report as text, one block per part. */
export function renderStatus(r: StatusReport): string {
  const out: string[] = [`beltline status since ${r.since}`];
  const failedPart = (name: string, s: { service: string; error: string }): void => {
    out.push(`${name}: ${s.service} unreachable: ${s.error}`);
  };
  if (r.lag.ok) {
    const l = r.lag.value;
    out.push(`consumer lag (group ${l.group}): ${l.total} records`);
    for (const p of l.partitions) out.push(`  ${p.topic} p${p.partition}: ${p.lag}  (committed ${p.committed}, end ${p.high})`);
  } else failedPart('consumer lag', r.lag);
  if (r.failingBelts.ok) {
    out.push(r.failingBelts.value.length === 0 ? 'failing belts: none' : 'failing belts:');
    for (const b of r.failingBelts.value) out.push(`  ${b.belt}: ${b.errors} error${b.errors === 1 ? '' : 's'}, last at ${b.lastAt}: ${b.lastError}`);
  } else failedPart('failing belts', r.failingBelts);
  if (r.badRows.ok) {
    out.push(r.badRows.value.length === 0 ? 'bad rows: none' : 'bad rows:');
    for (const b of r.badRows.value) out.push(`  ${b.type}: ${b.count}`);
  } else failedPart('bad rows', r.badRows);
  if (r.failedBatches.ok) {
    const f = r.failedBatches.value;
    out.push(f.length === 0 ? 'failed batches: none' : `failed batches: ${f.length} (beltline replay list / replay run --all)`);
    for (const b of f.slice(0, 20)) out.push(`  ${b.workflowId}  ${b.eventTypes.join(',') || '-'}: ${b.reason}`);
  } else failedPart('failed batches', r.failedBatches);
  if (r.unreachable.length > 0) out.push(`UNREACHABLE: ${r.unreachable.join(', ')}`);
  return out.join('\n');
}
