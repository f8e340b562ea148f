import { Pool } from 'pg';
import { batchFetch } from '../src/bridge/batcher';
import { loadConfig } from '../src/config';
// The same kafkajs, with the same fixes, as the pipeline's processes run.
import { Kafka, logLevel } from '../src/kafka/kafkajs';

/**
 * The end-to-end bench's baseline, a process of its own: what a plain kafkajs consumer costs to
 * do the pipeline's job without Temporal or belts. It reads the records the collector wrote
 * (one per tp2 request, its `events` the tracker parameters) and upserts one row per event
 * — the same id and fields the bench belt writes into a profile — into a table of its own.
 *
 * It fetches as the bridge does (batchFetch, from the same configuration).
 *
 * Environment: KAFKA_BROKERS, BENCH_TOPIC, BENCH_GROUP, DATABASE_URL, BENCH_TABLE (created
 * here). Runs until SIGTERM; a record it cannot read ends it with exit code 1.
 */

interface TrackerEvent {
  uid?: string;
  se_va?: string;
  se_la?: string;
}

function eventsOf(value: Buffer | null): TrackerEvent[] {
  const record = JSON.parse(value?.toString('utf8') ?? 'null') as { events?: unknown } | null;
  if (!record || !Array.isArray(record.events)) {
    throw new Error('a raw record without an events array: has the collector\'s record format changed?');
  }
  return record.events as TrackerEvent[];
}

async function main(): Promise<void> {
  const env = (name: string): string => {
    const v = process.env[name];
    if (!v) throw new Error(`${name} is not set`);
    return v;
  };
  const table = env('BENCH_TABLE');
  if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error(`BENCH_TABLE: not a plain identifier: ${table}`);
  const pool = new Pool({ connectionString: env('DATABASE_URL'), max: 4 });
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, document jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`,
  );
  const kafka = new Kafka({
    clientId: 'beltline-bench-baseline',
    brokers: env('KAFKA_BROKERS').split(',').map((s) => s.trim()),
    logLevel: logLevel.WARN,
  });
  const consumer = kafka.consumer({ groupId: env('BENCH_GROUP'), ...batchFetch(loadConfig()) });
  await consumer.connect();
  await consumer.subscribe({ topic: env('BENCH_TOPIC'), fromBeginning: true });
  await consumer.run({
    // As many partitions at once as the bridge works on.
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch }) => {
      let events: TrackerEvent[];
      try {
        events = batch.messages.flatMap((m) => eventsOf(m.value));
      } catch (err) {
        // Not retryable: kafkajs would retry the batch forever.
        process.stderr.write(`baseline consumer: ${(err as Error).message}\n`);
        process.exit(1);
      }
      await pool.query(
        `INSERT INTO ${table} (id, document)
         SELECT id, jsonb_build_object('v', v, 'sentAt', sent) FROM unnest($1::text[], $2::text[], $3::float8[]) AS t(id, v, sent)
         ON CONFLICT (id) DO UPDATE SET document = excluded.document, updated_at = now()`,
        [events.map((e) => e.uid ?? ''), events.map((e) => e.se_va ?? null), events.map((e) => (e.se_la ? Number(e.se_la) : null))],
      );
    },
  });
  process.stdout.write(`${JSON.stringify({ consuming: true })}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await consumer.disconnect();
  await pool.end();
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`baseline consumer: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
