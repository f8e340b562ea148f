import { proxyActivities, upsertSearchAttributes, type RetryPolicy } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { IngestBatchInput } from '../ingest/record';
import { ensureReapers } from './reaper';
import { BELTS, EVENT_COUNT, EVENT_TYPES } from './search-attributes';

// Retries ride out a restarting PostgreSQL or a redeploy; after that the batch fails with its
// input kept in Temporal, where an operator can find and replay it.
const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 40 };

const { prepareBatch, applyBatch } = proxyActivities<Activities>({ startToCloseTimeout: '2 minutes', retry });

export interface IngestBatchResult {
  events: number;
  duplicates: number;
  badRows: number;
  beltRuns: { belt: string; version: string; ran: number; errors: number }[];
  applied: number;
  profiles: number;
}

/** One batch of `raw` records: store, run the subscribed belts, apply their profile updates. */
export async function ingestBatch(input: IngestBatchInput): Promise<IngestBatchResult> {
  const prepared = await prepareBatch(input);
  upsertSearchAttributes([
    { key: EVENT_TYPES, value: prepared.eventTypes },
    { key: EVENT_COUNT, value: prepared.eventIds.length },
    { key: BELTS, value: prepared.belts.map((b) => b.name) },
  ]);

  // Each belt's activity runs on that belt's own task queue: its workers are its scale.
  const beltRuns = await Promise.all(
    prepared.belts.map(async (b) => {
      const { runBelt } = proxyActivities<Activities>({ taskQueue: b.taskQueue, startToCloseTimeout: '5 minutes', retry });
      const run = await runBelt({ name: b.name, version: b.version }, prepared.eventIds);
      return { belt: b.name, version: b.version, ...run };
    }),
  );

  const { applied, profiles, buckets } = await applyBatch(prepared.eventIds);
  await ensureReapers(buckets, prepared.bucketMs);
  return { events: prepared.eventIds.length, duplicates: prepared.duplicates, badRows: prepared.badRows, beltRuns, applied, profiles };
}
