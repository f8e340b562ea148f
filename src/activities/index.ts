import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { createActionActivities } from '../actions/run';
import { withTransaction } from '../db/pool';
import { beltTaskQueue, javascriptSource, type BeltRef } from '../belts/definition';
import { classifyOutputs, type ClassifiedOutputs, type DirectUpdateOutput } from '../belts/outputs';
import { publishDeadLetters, writeSegmentRows } from '../segments/store';
import { beltsForEventTypes, getBelt, loadBelt } from '../belts/registry';
import { PythonBeltPool } from '../belts/python';
import { BeltSandbox } from '../belts/sandbox';
import { badRowType, oversizedBadRow } from '../badrows/format';
import { EventTypeCache } from '../eventtypes/store';
import { Partitions } from '../events/partitions';
import { Harvesting } from '../harvesters/run';
import { DEFAULT_PROJECT } from '../http/projects';
import { badRow } from '../badrows/format';
import { expandRecords, type EventHeaders, type ExpandedBatch } from '../ingest/events';
import { SchemaRegistry, type SchemaViolation } from '../schemas/registry';
import { createKafka, ResilientProducer } from '../ingest/kafka';
import type { IngestBatchInput } from '../ingest/record';
import { logger } from '../log';
import { applyLatency, badRows as badRowsMetric, beltErrors, updatesApplied } from '../metrics';
import { reapPage, type ReapedPage } from '../expiry/reap';
import { publishOutbox } from '../profiles/outbox';
import { createRecoveryActivities } from '../recovery/activities';
import { applyUpdatesInTx, getDocuments, type PendingUpdate } from '../profiles/store';
import type { ProfileUpdate } from '../profiles/semantics';

const log = logger('activities');

// Tests of guarantee 2 kill the worker (-9) inside applyBatch's transaction, or right after its
// commit and before Temporal hears the activity completed.
const fault = process.env.BELTLINE_FAULT;

/** The workflow (batch, rerun, reaper) an activity runs for, for its log lines; none outside one. */
function workflowId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.workflowId;
  } catch {
    return undefined;
  }
}

export interface BeltTask extends BeltRef {
  taskQueue: string;
  /** The expiry bucket width in force, for the reapers the run may need. */
  bucketMs: number;
}

export interface PreparedBatch {
  eventIds: string[];
  eventTypes: string[];
  duplicates: number;
  badRows: number;
  belts: BeltTask[];
  bucketMs: number;
}

export interface BeltRun {
  ran: number;
  errors: number;
}

export interface AppliedBatch {
  applied: number;
  profiles: number;
  /** Expiry buckets that gained entries: the workflow makes sure each has its reaper. */
  buckets: number[];
  /** The belt of each update refused (recorded as that event's belt error). */
  refused?: string[];
}

/**
 * Activities are built around their dependencies (a pool, the config), as in Temporal's samples;
 * the workflow sees only their types.
 */
export function createActivities(pool: Pool, cfg: Config) {
  const typeCache = new EventTypeCache(pool);
  const harvesting = new Harvesting(pool);
  const partitions = new Partitions(pool);
  const schemas = new SchemaRegistry(pool);

  /**
   * Every self-describing event and context is checked against its schema; an event that fails
   * becomes one schema_violations bad row with ajv's reports, and the rest of the batch goes on.
   */
  async function validateSchemas(batch: ExpandedBatch): Promise<void> {
    const items = batch.events.flatMap((e, i) => (e.selfDescribing ?? []).map((sd) => ({ event: i, field: sd.field, json: sd.json })));
    if (items.length === 0) return;
    const results = await schemas.validate(items.map(({ field, json }) => ({ field, json })));
    const failed = new Map<number, SchemaViolation[]>();
    results.forEach((violations, n) => {
      if (violations.length > 0) failed.set(items[n].event, [...(failed.get(items[n].event) ?? []), ...violations]);
    });
    if (failed.size === 0) return;
    for (const [i, violations] of failed) {
      const e = batch.events[i];
      batch.badRows.push({
        key: `event:${e.eventId}:schema`,
        row: badRow(
          'schema_violations',
          {
            messages: violations.map((v) => ({
              schemaKey: v.schemaKey,
              field: v.field,
              error: { error: v.error, ...(v.dataReports ? { dataReports: v.dataReports } : {}), ...(v.lookupHistory ? { lookupHistory: v.lookupHistory } : {}), ...(v.schemaIssues ? { schemaIssues: v.schemaIssues } : {}) },
            })),
          },
          { raw: e.raw, enriched: e.payload },
        ),
      });
    }
    batch.events = batch.events.filter((_, i) => !failed.has(i));
  }
  let pythonPool: PythonBeltPool | undefined;
  const python = (): PythonBeltPool => (pythonPool ??= new PythonBeltPool({ processes: 2 }));
  let badRowProducer: ResilientProducer | undefined;
  const producer = (): ResilientProducer => (badRowProducer ??= new ResilientProducer(createKafka(cfg, 'beltline-worker')));
  const sandboxes = new Map<string, Promise<BeltSandbox>>();

  function sandboxFor(ref: BeltRef): Promise<BeltSandbox> {
    const key = `${ref.name}@${ref.version}`;
    let sb = sandboxes.get(key);
    if (!sb) {
      sb = loadBelt(pool, ref).then((def) => BeltSandbox.create(javascriptSource(def), `${ref.name}.js`));
      sb.catch(() => sandboxes.delete(key));
      sandboxes.set(key, sb);
    }
    return sb;
  }

  return {
    ...createRecoveryActivities(pool, cfg, producer),
    /** prepareActions and deliverAction: the webhooks belts' Action(name, payload) outputs ask for. */
    ...createActionActivities(pool),

    /** Parses and stores the batch's events and bad rows; says which belts must run. Idempotent. */
    async prepareBatch(input: IngestBatchInput): Promise<PreparedBatch> {
      const batchId = `${input.topic}-${input.partition}-${input.firstOffset}-${input.lastOffset}`;
      const types = await typeCache.all(DEFAULT_PROJECT);
      const expanded = expandRecords(input, types, cfg.BELTLINE_RAW_TOPIC);
      await validateSchemas(expanded);
      const harvested = await harvesting.harvest(DEFAULT_PROJECT, input, expanded.events, expanded.topicPayloads, types);
      const seen = new Set(expanded.events.map((e) => e.eventId));
      const events = [...expanded.events, ...harvested.events.filter((e) => !seen.has(e.eventId) && seen.add(e.eventId))];
      const badRows = [...expanded.badRows, ...harvested.badRows];
      const duplicates = expanded.duplicates;
      await partitions.ensure(events.map((e) => e.created));
      await withTransaction(pool, async (client) => {
        if (events.length > 0) {
          await client.query(
            `INSERT INTO events (event_id, event_type, correlation_id, created_at, headers, payload, batch_id)
             SELECT e.event_id, e.event_type, e.correlation_id, to_timestamp(e.created / 1000.0), e.headers, e.payload, $7
               FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::jsonb[], $6::jsonb[])
                    AS e(event_id, event_type, correlation_id, created, headers, payload)
             ON CONFLICT (event_id, created_at) DO NOTHING`,
            [
              events.map((e) => e.eventId),
              events.map((e) => e.eventType),
              events.map((e) => e.correlationId),
              events.map((e) => e.created),
              events.map((e) => JSON.stringify(e.headers)),
              events.map((e) => JSON.stringify(e.payload)),
              batchId,
            ],
          );
        }
        if (badRows.length > 0) {
          const { rows: fresh } = await client.query<{ row_key: string; type: string; bad_row: unknown }>(
            `INSERT INTO bad_rows (row_key, type, bad_row, batch_id)
             SELECT k, t, r, $4 FROM unnest($1::text[], $2::text[], $3::jsonb[]) AS b(k, t, r)
             ON CONFLICT (row_key) DO NOTHING RETURNING row_key, type, bad_row`,
            [badRows.map((b) => b.key), badRows.map((b) => badRowType(b.row)), badRows.map((b) => JSON.stringify(b.row)), batchId],
          );
          // Published before the commit: if Kafka fails, the rows roll back and the retry
          // publishes them again (at least once; the key lets consumers drop repeats).
          if (fresh.length > 0) {
            await producer().send(
              cfg.BELTLINE_BAD_TOPIC,
              fresh.map((r) => ({ key: r.row_key, value: JSON.stringify(r.bad_row) })),
              { oversized: oversizedBadRow },
            );
          }
          return fresh;
        }
        return [];
      }).then((fresh) => {
        // Counted once committed, and only rows new to the store: a retried batch adds none.
        for (const r of fresh) badRowsMetric.inc({ type: r.type });
      });
      const eventTypes = [...new Set(events.map((e) => e.eventType))].sort();
      const belts = (await beltsForEventTypes(pool, eventTypes)).map((b) => ({
        name: b.name,
        version: b.version,
        taskQueue: beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, b.name),
        bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS,
      }));
      if (badRows.length > 0) log.warn({ batchId, workflowId: workflowId(), badRows: badRows.length, types: [...new Set(badRows.map((b) => badRowType(b.row)))] }, 'bad rows stored');
      log.info({ batchId, workflowId: workflowId(), events: events.length, duplicates, badRows: badRows.length, eventTypes, belts: belts.map((b) => b.name) }, 'batch prepared');
      return { eventIds: events.map((e) => e.eventId), eventTypes, duplicates, badRows: badRows.length, belts, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS };
    },

    /**
     * Runs one belt version over the batch's events of its input types, in its sandbox, and keeps
     * each event's outputs or error. Events it already ran for keep their first result.
     */
    async runBelt(belt: BeltRef, eventIds: string[], opts: { retryFailed?: boolean } = {}): Promise<BeltRun> {
      const def = await loadBelt(pool, belt);
      // A retry replaces failed results (atomically, in the insert below); good ones always stay.
      const keep = opts.retryFailed ? 'AND o.error IS NULL' : '';
      const { rows } = await pool.query<{ event_id: string; correlation_id: string; headers: EventHeaders; payload: unknown }>(
        `SELECT e.event_id, e.correlation_id, e.headers, e.payload FROM events e
          WHERE e.event_id = ANY($1::text[]) AND e.event_type = ANY($2::text[])
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $3 ${keep})
          ORDER BY e.created_at, e.event_id`,
        [eventIds, def.eventTypes, belt.name],
      );
      if (rows.length === 0) return { ran: 0, errors: 0 };
      const profiles = await getDocuments(
        pool,
        rows.map((r) => r.correlation_id),
      );
      const inputs = rows.map((r) => ({
        eventId: r.event_id,
        headers: r.headers,
        payload: r.payload,
        profile: profiles.get(r.correlation_id) ?? null,
        metadata: { topic: r.headers['kafka-topic'], partition: r.headers['kafka-partition'], offset: r.headers['kafka-offset'] },
      }));
      // Seed-style Python callbacks run in the pool of sandboxed python3 processes; JavaScript
      // (and TypeScript) in a V8 isolate per belt version.
      const results =
        def.beltType === 'python-callback'
          ? await python().runBatch(def.extractorFn, `${belt.name}.py`, inputs)
          : await (await sandboxFor(belt)).runBatch(inputs);
      const types = await typeCache.all(DEFAULT_PROJECT);
      const isLiveSegment = (name: string): boolean => types.get(name)?.type === 'live_segment';
      const outputs: string[] = [];
      const directs: string[] = [];
      const actions: string[] = [];
      const errors: (string | null)[] = [];
      for (const r of results) {
        let error = r.error ? { ...r.error, logs: r.logs } : null;
        let kept: ClassifiedOutputs = { updates: [], direct: [], actions: [] };
        if (!error) {
          try {
            kept = classifyOutputs(def, r.outputs, isLiveSegment);
          } catch (err) {
            error = { kind: 'exception', message: (err as Error).message, stack: undefined, logs: r.logs };
          }
        }
        if (r.logs.length > 0) log.info({ workflowId: workflowId(), belt: belt.name, version: belt.version, eventId: r.eventId, logs: r.logs }, 'belt output');
        if (error) log.warn({ workflowId: workflowId(), belt: belt.name, version: belt.version, eventId: r.eventId, error: error.message }, 'belt failed for event');
        outputs.push(JSON.stringify(kept.updates));
        directs.push(JSON.stringify(kept.direct));
        actions.push(JSON.stringify(kept.actions));
        errors.push(error ? JSON.stringify(error) : null);
      }
      await pool.query(
        `INSERT INTO belt_outputs (event_id, belt, belt_version, outputs, direct, actions, error)
         SELECT e, $2, $3, o, d, a, err FROM unnest($1::text[], $4::jsonb[], $5::jsonb[], $7::jsonb[], $8::jsonb[]) AS t(e, o, err, d, a)
         ON CONFLICT (event_id, belt) DO UPDATE
           SET belt_version = excluded.belt_version, outputs = excluded.outputs, direct = excluded.direct, actions = excluded.actions,
               error = excluded.error, created_at = now()
           WHERE belt_outputs.error IS NOT NULL AND $6`,
        [results.map((r) => r.eventId), belt.name, belt.version, outputs, errors, opts.retryFailed === true, directs, actions],
      );
      const failed = errors.filter((e) => e !== null).length;
      if (failed > 0) beltErrors.inc({ belt: belt.name }, failed);
      return { ran: results.length, errors: failed };
    },

    /** The head version of a belt and the task queue its runs go to. */
    async beltHead(name: string): Promise<BeltTask> {
      const head = await getBelt(pool, name);
      if (!head) throw ApplicationFailure.nonRetryable(`no belt named ${name}`, 'UnknownBelt');
      return { name, version: head.version, taskQueue: beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, name), bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS };
    },

    /** How many events a retry or backfill will go through (for progress). */
    async rerunCount(belt: string, mode: 'retry' | 'backfill', since?: string): Promise<number> {
      if (mode === 'retry') {
        const { rows } = await pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM belt_outputs WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2)',
          [belt, since ?? null],
        );
        return rows[0].n;
      }
      const head = await getBelt(pool, belt);
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM events e WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)`,
        [belt, head?.definition.eventTypes ?? [], since ?? null],
      );
      return rows[0].n;
    },

    /** The next page of events to rerun: failed ones (retry) or never-run ones (backfill). */
    async rerunPage(belt: string, mode: 'retry' | 'backfill', since: string | undefined, after: string | undefined): Promise<{ eventIds: string[]; next: string | null }> {
      const [afterAt, afterId] = rerunCursor(mode, after);
      if (mode === 'retry') {
        const { rows } = await pool.query<{ event_id: string }>(
          `SELECT event_id FROM belt_outputs
            WHERE belt = $1 AND error IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::text IS NULL OR event_id > $3)
            ORDER BY event_id LIMIT $4`,
          [belt, since ?? null, afterId, RERUN_PAGE],
        );
        const ids = rows.map((r) => r.event_id);
        return { eventIds: ids, next: ids.length === RERUN_PAGE ? ids[ids.length - 1] : null };
      }
      const head = await getBelt(pool, belt);
      const { rows } = await pool.query<{ event_id: string; created: Date }>(
        `SELECT e.event_id, e.created_at AS created FROM events e
          WHERE e.event_type = ANY($2::text[]) AND ($3::timestamptz IS NULL OR e.created_at >= $3)
            AND ($4::timestamptz IS NULL OR (e.created_at, e.event_id) > ($4, $5))
            AND NOT EXISTS (SELECT 1 FROM belt_outputs o WHERE o.event_id = e.event_id AND o.belt = $1)
          ORDER BY e.created_at, e.event_id LIMIT $6`,
        [belt, head?.definition.eventTypes ?? [], since ?? null, afterAt, afterId, RERUN_PAGE],
      );
      const last = rows[rows.length - 1];
      return {
        eventIds: rows.map((r) => r.event_id),
        next: rows.length === RERUN_PAGE && last ? JSON.stringify([last.created.toISOString(), last.event_id]) : null,
      };
    },

    /**
     * Applies every not-yet-applied belt output of these events in one transaction and marks it
     * applied, so a re-run (or a concurrent batch holding the same events) applies nothing twice.
     */
    async applyBatch(eventIds: string[]): Promise<AppliedBatch> {
      const timer = applyLatency.startTimer();
      const result = await withTransaction(pool, async (client): Promise<AppliedBatch> => {
        const { rows } = await client.query<{ event_id: string; belt: string; outputs: ProfileUpdate[]; direct: DirectUpdateOutput[]; created: number }>(
          `SELECT o.event_id, o.belt, o.outputs, o.direct, (extract(epoch FROM e.created_at) * 1000)::float8 AS created
             FROM belt_outputs o JOIN events e USING (event_id)
            WHERE o.event_id = ANY($1::text[]) AND NOT o.applied AND o.error IS NULL
            ORDER BY o.event_id, o.belt
            FOR UPDATE OF o`,
          [eventIds],
        );
        if (rows.length === 0) return { applied: 0, profiles: 0, buckets: [] };
        const pending: PendingUpdate[] = rows.flatMap((r) =>
          r.outputs.map((update) => ({ update, ctx: { eventId: r.event_id, created: Math.round(r.created) }, belt: r.belt })),
        );
        const applied = await applyUpdatesInTx(client, pending, cfg.BELTLINE_EXPIRY_BUCKET_MS);
        for (const r of applied.refused) {
          log.warn({ workflowId: workflowId(), eventId: r.eventId, belt: r.belt, reason: r.reason }, 'update refused');
          await client.query('UPDATE belt_outputs SET error = $3 WHERE event_id = $1 AND belt = $2', [
            r.eventId,
            r.belt,
            JSON.stringify({ kind: 'refused', message: r.reason }),
          ]);
        }
        // Live-segment rows commit with the profile updates of the same events, or not at all.
        const segmentRows = rows.flatMap((r) =>
          r.direct.map((d) => ({ segment: d.eventType, row: d.row, eventId: r.event_id, belt: r.belt, eventAt: Math.round(r.created) })),
        );
        if (segmentRows.length > 0) {
          const segments = await writeSegmentRows(client, DEFAULT_PROJECT, segmentRows);
          if (segments.deadLetters.length > 0) {
            log.warn({ deadLetters: segments.deadLetters.length, segments: [...new Set(segments.deadLetters.map((d) => d.segment))] }, 'live-segment rows dead-lettered');
            // Before the commit, as bad rows: if Kafka fails the batch retries and nothing is lost.
            await publishDeadLetters(producer(), segments.deadLetters);
          }
        }
        await client.query(
          `UPDATE belt_outputs o SET applied = true FROM unnest($1::text[], $2::text[]) AS t(e, b)
            WHERE o.event_id = t.e AND o.belt = t.b`,
          [rows.map((r) => r.event_id), rows.map((r) => r.belt)],
        );
        if (fault === 'worker-crash-before-commit') process.kill(process.pid, 'SIGKILL');
        return { applied: pending.length, profiles: applied.profiles, buckets: applied.buckets, refused: applied.refused.flatMap((r) => (r.belt ? [r.belt] : [])) };
      });
      if (fault === 'worker-crash-after-commit' && result.applied > 0) process.kill(process.pid, 'SIGKILL');
      timer();
      updatesApplied.inc(result.applied);
      for (const belt of result.refused ?? []) beltErrors.inc({ belt });
      if (result.applied > 0) log.info({ workflowId: workflowId(), events: eventIds.length, applied: result.applied, profiles: result.profiles }, 'updates applied');
      // After the commit; what fails to go out now, the worker's outbox flusher sends later.
      await publishOutbox(pool, producer(), eventIds).catch((err: unknown) => log.warn({ err }, 'change stream publish deferred'));
      return result;
    },

    /** Reaps one page of an expiry bucket; see reapPage. */
    async reapBucketPage(bucket: number): Promise<ReapedPage> {
      const page = await reapPage(pool, producer(), cfg.BELTLINE_RAW_TOPIC, bucket);
      await publishOutbox(pool, producer()).catch((err: unknown) => log.warn({ err }, 'change stream publish deferred'));
      return page;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

const RERUN_PAGE = 500;

/** Keyset cursor of a rerun page: (event time, event id) for backfill, event id for retry. */
function rerunCursor(mode: 'retry' | 'backfill', after: string | undefined): [string | null, string | null] {
  if (!after) return [null, null];
  if (mode === 'retry') return [null, after];
  const [at, id] = JSON.parse(after) as [string, string];
  return [at, id];
}
