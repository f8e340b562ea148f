import type { PoolClient } from 'pg';
import type { OutputRow, Refusals } from '../belts/outputs-store';
import type { ResilientProducer } from '../kafka/producer';
import { logger } from '../log';
import { soonestBuckets } from '../expiry/buckets';
import type { ProfileCache, WrittenProfiles } from '../profiles/cache';
import type { WrittenChanges } from '../profiles/outbox';
import { applyUpdatesInTx, type PendingUpdate } from '../profiles/store';
import { publishDeadLetters, writeSegmentRows } from '../segments/writes';

const log = logger('apply');

// Tests of guarantee 2 kill the worker (-9) inside the apply transaction, or right after its
// commit and before Temporal hears the step completed.
const fault = process.env.BELTLINE_FAULT;

export interface AppliedOutputs {
  /** Updates applied. */
  applied: number;
  profiles: number;
  /** Expiry buckets that gained entries: the workflow makes sure each has its reaper. */
  buckets: number[];
  /** Outputs whose update the store refused: recorded as that event's belt error. */
  refused: Refusals;
  /** The change-stream outbox row written, with its messages, to publish after the commit. */
  outbox: WrittenChanges | null;
  /** For the profile cache, after the commit. */
  written: WrittenProfiles | null;
}

/**
 * Applies belt outputs inside the caller's transaction: profile updates, then live-segment rows
 * of the same events, so both commit together or not at all.
 */
export async function applyOutputs(
  client: PoolClient,
  rows: readonly OutputRow[],
  opts: { project: string; bucketMs: number; producer: () => ResilientProducer; cache?: ProfileCache },
): Promise<AppliedOutputs> {
  const pending: PendingUpdate[] = rows.flatMap((r) => r.updates.map((update) => ({ update, ctx: { eventId: r.eventId, created: r.created }, belt: r.belt })));
  const result = await applyUpdatesInTx(client, pending, opts.bucketMs, opts.cache);
  const refused: Refusals = new Map();
  for (const r of result.refused) {
    log.warn({ eventId: r.eventId, belt: r.belt, reason: r.reason }, 'update refused');
    if (r.belt) refused.set(r.belt, (refused.get(r.belt) ?? new Map<string, string>()).set(r.eventId, r.reason));
  }
  const segmentRows = rows.flatMap((r) => r.direct.map((d) => ({ segment: d.eventType, row: d.row, eventId: r.eventId, belt: r.belt, eventAt: r.created })));
  if (segmentRows.length > 0) {
    const segments = await writeSegmentRows(client, opts.project, segmentRows);
    if (segments.deadLetters.length > 0) {
      log.warn({ deadLetters: segments.deadLetters.length, segments: [...new Set(segments.deadLetters.map((d) => d.segment))] }, 'live-segment rows dead-lettered');
      // Before the commit, as bad rows: if Kafka fails the step retries and nothing is lost.
      await publishDeadLetters(opts.producer(), segments.deadLetters);
    }
  }
  return { applied: pending.length, profiles: result.profiles, buckets: soonestBuckets(result.buckets), refused, outbox: result.outbox, written: result.written };
}

/**
 * Guarantee 2's fault points, for the tests that kill the worker there: BELTLINE_FAULT is
 * `worker-crash-before-commit` or `worker-crash-after-commit`, optionally `:<step>` for one step.
 */
export function faultPoint(where: 'before-commit' | 'after-commit', step: 'processBatch' | 'applyBatch', applied: number): void {
  if (applied > 0 && (fault === `worker-crash-${where}` || fault === `worker-crash-${where}:${step}`)) process.kill(process.pid, 'SIGKILL');
}

/**
 * The graceful-shutdown test's fault point: with BELTLINE_FAULT `worker-pause-before-commit`, a
 * step that applies something waits 3 s inside its transaction, so a SIGTERM lands mid-batch.
 */
export async function faultPause(applied: number): Promise<void> {
  if (applied === 0 || fault !== 'worker-pause-before-commit') return;
  log.warn('fault: pausing before commit');
  await new Promise((r) => setTimeout(r, 3000));
}
