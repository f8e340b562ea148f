import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { withTransaction } from '../db/pool';
import { createKafka, MAX_RECORD_BYTES, type ResilientProducer } from '../kafka/producer';
import { recordBytes } from '../kafka/produce-chunks';
import { sizeViolation } from '../badrows/format';
import { logger } from '../log';
import { parseRecoveryConfig, RecoveryConfigError } from './config';
import { evaluateBadRow } from './evaluate';
import type { Change } from './flows';
import { badRowPage, markRecovered, recordFailures, recoveryBounds, type RecoveryFailure, type RecoveryFilter, type StoredBadRow } from './store';

const log = logger('recovery');

/** Bad rows per activity: one transaction, one publish to `raw`. */
export const RECOVERY_PAGE = 100;

export interface RecoveryPageInput {
  /** The configuration as written (checked again here). */
  config: unknown;
  /** The run's id (its workflow id): what recovered rows are marked with. */
  run: string;
  filter: RecoveryFilter;
  /** Bad-row id cursor: rows after it, up to max. */
  after: string;
  max: string;
  dryRun: boolean;
}

export type RowStatus = 'recovered' | 'failed' | 'unmatched' | 'unrecoverable';

/** What happened to one bad row (all rows in a dry run; the ones not recovered otherwise). */
export interface RowReport {
  id: string;
  type: string;
  status: RowStatus;
  flow?: string;
  reason?: string;
  changes: Change[];
}

export interface RecoveryPageResult {
  rows: number;
  counts: Record<RowStatus, number>;
  /** The last bad-row id looked at; null when there was nothing left. */
  last: string | null;
  reports: RowReport[];
}

/** Long values (a whole base64 payload) are cut in reports: they travel through Temporal's history. */
function clip(v: unknown): unknown {
  const text = JSON.stringify(v);
  if (text === undefined || text.length <= 300) return v;
  return `${text.slice(0, 300)}… (${text.length} characters)`;
}

export function createRecoveryActivities(pool: Pool, cfg: Config, producer: () => ResilientProducer) {
  let failedTopicReady: Promise<void> | undefined;

  /** The failed-recovery topic is made on first use (the broker does not create topics on write). */
  function ensureFailedTopic(): Promise<void> {
    failedTopicReady ??= (async () => {
      const admin = createKafka(cfg, 'beltline-recovery').admin();
      await admin.connect();
      try {
        if (!(await admin.listTopics()).includes(cfg.BELTLINE_RECOVERY_FAILED_TOPIC)) {
          await admin.createTopics({ topics: [{ topic: cfg.BELTLINE_RECOVERY_FAILED_TOPIC, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
        }
      } finally {
        await admin.disconnect();
      }
    })();
    failedTopicReady.catch(() => (failedTopicReady = undefined));
    return failedTopicReady;
  }

  function config(raw: unknown) {
    try {
      return parseRecoveryConfig(raw);
    } catch (err) {
      if (err instanceof RecoveryConfigError) throw ApplicationFailure.nonRetryable(`invalid recovery configuration: ${err.message}`, 'RecoveryConfigError');
      throw err;
    }
  }

  function evaluate(input: RecoveryPageInput, rows: StoredBadRow[]) {
    const cfgParsed = config(input.config);
    const now = Date.now();
    return rows.map((r) => ({ row: r, ...evaluateBadRow(cfgParsed, r.badRow, { run: input.run, badRow: r.id }, now) }));
  }

  function report(row: StoredBadRow, o: ReturnType<typeof evaluate>[number]['outcome']): RowReport {
    const changes = 'changes' in o ? o.changes.map((c) => ({ path: c.path, before: clip(c.before), ...(c.after === undefined ? {} : { after: clip(c.after) }) })) : [];
    return { id: row.id, type: row.type, status: o.status, ...('flow' in o ? { flow: o.flow } : {}), ...('reason' in o ? { reason: o.reason } : {}), changes };
  }

  return {
    /** The newest bad row a run goes up to, and how many rows it will look at. */
    async recoveryBounds(filter: RecoveryFilter): Promise<{ max: string | null; total: number }> {
      return recoveryBounds(pool, filter);
    },

    /**
     * One page of bad rows through the flows. Unless dry: in ONE transaction, the page's rows are
     * locked, failures go to `bad-recovery-failed`, repaired records to `raw`, and only then are
     * the rows marked and the transaction committed. Publish-then-mark: a Kafka error, or a crash
     * before the commit, leaves the rows unmarked and the retry publishes them again (at least once;
     * never marked without being sent). Rows already marked are never taken again.
     */
    async recoverBadRowPage(input: RecoveryPageInput): Promise<RecoveryPageResult> {
      const counts: Record<RowStatus, number> = { recovered: 0, failed: 0, unmatched: 0, unrecoverable: 0 };
      if (input.dryRun) {
        const rows = await badRowPage(pool, input.filter, input.after, input.max, RECOVERY_PAGE, false);
        const reports = evaluate(input, rows).map(({ row, outcome }) => {
          counts[outcome.status]++;
          return report(row, outcome);
        });
        return { rows: rows.length, counts, last: rows.at(-1)?.id ?? null, reports };
      }
      return withTransaction(pool, async (client) => {
        const rows = await badRowPage(client, input.filter, input.after, input.max, RECOVERY_PAGE, true);
        const results = evaluate(input, rows);
        const recovered: { id: string; flow: string }[] = [];
        const messages: { key?: string; value: string }[] = [];
        const failures: (RecoveryFailure & { rowKey: string; badRow: unknown })[] = [];
        const reports: RowReport[] = [];
        for (const r of results) {
          counts[r.outcome.status]++;
          const message = r.outcome.status === 'recovered' && r.record ? { key: r.record.key, value: JSON.stringify(r.record.record) } : undefined;
          const bytes = message ? recordBytes(message) : 0;
          if (message && r.outcome.status === 'recovered' && bytes > MAX_RECORD_BYTES) {
            // Kafka would refuse the repaired record for ever: a failure of this row, not of the page.
            counts.recovered--;
            counts.failed++;
            const reason = `the repaired record takes ${bytes} bytes, over the ${MAX_RECORD_BYTES} a Kafka record may have`;
            const outcome = { status: 'failed' as const, flow: r.outcome.flow, reason, changes: r.outcome.changes };
            failures.push({ id: r.row.id, type: r.row.type, status: 'failed', flow: r.outcome.flow, reason, rowKey: r.row.rowKey, badRow: r.row.badRow });
            reports.push(report(r.row, outcome));
          } else if (message && r.outcome.status === 'recovered') {
            recovered.push({ id: r.row.id, flow: r.outcome.flow });
            messages.push(message);
          } else if (r.outcome.status !== 'recovered') {
            failures.push({ id: r.row.id, type: r.row.type, status: r.outcome.status, flow: 'flow' in r.outcome ? r.outcome.flow : undefined, reason: r.outcome.reason, rowKey: r.row.rowKey, badRow: r.row.badRow });
            reports.push(report(r.row, r.outcome));
          }
        }
        if (failures.length > 0) {
          await ensureFailedTopic();
          const failedAt = new Date().toISOString();
          await producer().send(
            cfg.BELTLINE_RECOVERY_FAILED_TOPIC,
            failures.map((f) => ({
              key: f.rowKey,
              value: JSON.stringify({ badRowId: f.id, rowKey: f.rowKey, type: f.type, status: f.status, flow: f.flow ?? null, reason: f.reason, run: input.run, failedAt, badRow: f.badRow }),
            })),
            // A failure too large for Kafka (its bad row is whole in the store) carries a size_violation instead.
            {
              oversized: (m, err) => {
                const failure = JSON.parse(m.value) as { badRow: unknown };
                return { key: m.key, value: JSON.stringify({ ...failure, badRow: sizeViolation(JSON.stringify(failure.badRow), err.bytes, err.limit) }) };
              },
            },
          );
          await recordFailures(client, input.run, failures);
        }
        if (messages.length > 0) {
          await producer().send(cfg.BELTLINE_RAW_TOPIC, messages);
          await markRecovered(client, input.run, recovered);
        }
        if (rows.length > 0) log.info({ run: input.run, ...counts }, 'recovered a page of bad rows');
        return { rows: rows.length, counts, last: rows.at(-1)?.id ?? null, reports };
      });
    },
  };
}

export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
