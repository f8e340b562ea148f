import { withTransaction } from '../db/pool';
import { batchId, loadStagedBatch, markBatchDone } from '../batches/staging';
import { applyOutputs, faultPause, faultPoint } from '../batches/apply';
import { insertBadRows } from '../badrows/store';
import { oversizedBadRow, type BadRow } from '../badrows/format';
import { beltTaskQueue, type BeltRef } from '../belts/definition';
import { insertBeltOutputs, type BeltOutcome, type OutputRow } from '../belts/outputs-store';
import { beltsTaking } from '../belts/registry';
import { insertEvents } from '../events/store';
import { expandRecords } from '../events/expand';
import { separateUnstorable, storable } from '../events/storable';
import type { IngestBatchInput } from '../batches/record';
import { logger } from '../log';
import { applyLatency, badRows as badRowsMetric, beltErrors, updatesApplied } from '../metrics';
import { getDocuments } from '../profiles/store';
import { validateBatchSchemas } from '../schemas/batch';
import { enrichedRecords, enrichedTsvRecords, publishEnriched } from '../snowplow/enriched-out';
import { currentTypes, liveSegmentLookup, workflowId, type ActivityDeps } from './deps';

const log = logger('activities');

/** The most event types a batch's result (and its EventTypes search attribute) lists. */
export const MAX_TYPES_LISTED = 100;

/** A belt that runs on a task queue of its own (it has a `scale`): the workflow runs it as an activity. */
export interface BeltTask extends BeltRef {
  taskQueue: string;
}

export interface BeltRunSummary {
  belt: string;
  version: string;
  ran: number;
  errors: number;
}

/** What processBatch did; small, since it lands in the workflow's history. */
export interface ProcessedBatch {
  batchId: string;
  events: number;
  duplicates: number;
  badRows: number;
  eventTypes: string[];
  /** Belts that ran inside the step, on the events new to the store. */
  beltRuns: BeltRunSummary[];
  /** Belts with a task queue of their own, still to run. */
  queuedBelts: BeltTask[];
  applied: number;
  profiles: number;
  buckets: number[];
  bucketMs: number;
  /** Whether any output asked for an action. */
  actions: boolean;
}

export function createProcessBatch(deps: ActivityDeps) {
  const { pool, cfg } = deps;
  return {
    /**
     * The whole batch in one step, the common case: parse and validate the staged records, keep bad
     * rows, run the belts that have no task queue of their own, and store the events, belt outputs
     * and profile updates in one transaction. Idempotent: a retry finds its events stored and
     * applies nothing twice.
     */
    async processBatch(input: IngestBatchInput): Promise<ProcessedBatch> {
      const id = batchId(input);
      const records = input.records ?? (await loadStagedBatch(pool, input));
      // Harvesters are read after this too: the catch-up covers them as well.
      let types = await currentTypes(deps);
      const batch = { topic: input.topic, partition: input.partition, records };
      let parsed = expandRecords(batch, types, cfg.BELTLINE_RAW_TOPIC);
      // Read-through: a type the cache did not hold is looked up before its events become bad rows.
      if (parsed.unknownTypes.length > 0) {
        const found = (await Promise.all(parsed.unknownTypes.map((name) => deps.types.get(deps.project, name)))).filter((t) => t !== undefined);
        if (found.length > 0) {
          types = new Map([...(await deps.types.all(deps.project)), ...found.map((t) => [t.name, t] as const)]);
          parsed = expandRecords(batch, types, cfg.BELTLINE_RAW_TOPIC);
        }
      }
      // An event PostgreSQL would refuse (a NUL, a lone surrogate, nesting too deep) would fail the
      // statement that stores the whole batch, and deep nesting overflows the stack of whatever
      // copies it (schemas, harvesters, belts): it is a bad row of its own, before any of them.
      const storableParsed = separateUnstorable(parsed.events);
      const expanded = { ...parsed, events: storableParsed.events, badRows: [...parsed.badRows, ...storableParsed.badRows] };
      await validateBatchSchemas(deps.schemas, expanded);
      const harvested = await deps.harvesting.harvest(deps.project, input, expanded.events, expanded.topicPayloads, types);
      const seen = new Set(expanded.events.map((e) => e.eventId));
      const storableHarvested = separateUnstorable(harvested.events.filter((e) => !seen.has(e.eventId) && seen.add(e.eventId)));
      const events = [...expanded.events, ...storableHarvested.events];
      // Bad rows keep their input whatever it holds, in a copy that can be stored and serialised.
      const badRows = [...expanded.badRows, ...harvested.badRows, ...storableHarvested.badRows].map((b) => ({ key: b.key, row: storable(b.row) as BadRow }));
      await deps.partitions.ensure(events.map((e) => e.created));

      const eventTypes = [...new Set(events.map((e) => e.eventType))].sort();
      // The result lands in the workflow's history and its types in a search attribute: bounded
      // whatever the batch holds (the soonest expiry buckets likewise, see soonestBuckets).
      const listedTypes = eventTypes.slice(0, MAX_TYPES_LISTED);
      // Current: currentTypes caught the definitions up before this batch.
      const belts = beltsTaking((await deps.beltHeads.all(deps.project)).values(), eventTypes);
      const inline = belts.filter((b) => b.definition.scale === undefined);
      const queuedBelts = belts
        .filter((b) => b.definition.scale !== undefined)
        .map((b) => ({ name: b.name, version: b.version, taskQueue: beltTaskQueue(cfg.BELTLINE_TASK_QUEUE, b.name, deps.project) }));

      // Belts run before the transaction, so it holds its locks only for the writes. An event
      // found already stored inside it drops its outcome: what it led to was done when it came first.
      const ran: { belt: (typeof inline)[number]; outcomes: BeltOutcome[] }[] = [];
      if (inline.length > 0 && events.length > 0) {
        const profiles = await getDocuments(pool, events.map((e) => e.correlationId));
        const isLiveSegment = await liveSegmentLookup(deps, types);
        for (const belt of inline) {
          const mine = events.filter((e) => belt.definition.eventTypes.includes(e.eventType));
          ran.push({ belt, outcomes: await deps.belts.run(belt, belt.definition, mine, profiles, isLiveSegment, { workflowId: workflowId() }) });
        }
      }
      const created = new Map(events.map((e) => [e.eventId, e.created]));

      const timer = applyLatency.startTimer();
      const done = await withTransaction(pool, async (client) => {
        const fresh = await insertEvents(client, events, id);
        // Snowplow interop out, at least once: the events new to the store go to the enriched topic
        // before the commit (a failed send rolls them back, and the retry sends them again), the
        // send overlapping the rest of the transaction instead of adding a round trip to it.
        const tsvTopic = cfg.BELTLINE_ENRICHED_TSV_TOPIC;
        const enriched = Promise.all([
          cfg.BELTLINE_ENRICHED ? publishEnriched(deps.producer(), cfg.BELTLINE_ENRICHED_TOPIC, cfg.BELTLINE_RAW_PARTITIONS, enrichedRecords(events, fresh)) : undefined,
          tsvTopic === undefined ? undefined : publishEnriched(deps.producer(), tsvTopic, cfg.BELTLINE_RAW_PARTITIONS, enrichedTsvRecords(events, fresh)),
        ]);
        // Awaited before the commit; this only keeps it from being unhandled if the transaction fails first.
        enriched.catch(() => undefined);
        const freshBad = await insertBadRows(client, badRows, id);
        // Published before the commit: if Kafka fails, the rows roll back and the retry publishes
        // them again (at least once; the key lets consumers drop repeats).
        if (freshBad.length > 0) await deps.producer().send(cfg.BELTLINE_BAD_TOPIC, freshBad.map((b) => ({ key: b.key, value: JSON.stringify(b.row) })), { oversized: oversizedBadRow });
        const kept = ran.map((r) => ({ belt: r.belt, outcomes: r.outcomes.filter((o) => fresh.has(o.eventId)) }));
        const rows: OutputRow[] = kept.flatMap((r) =>
          r.outcomes.filter((o) => o.error === null).map((o) => ({ eventId: o.eventId, belt: r.belt.name, updates: o.updates, direct: o.direct, created: created.get(o.eventId) ?? 0 })),
        );
        const applied = await applyOutputs(client, rows, { project: deps.project, bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS, producer: deps.producer, cache: deps.profiles });
        for (const r of kept) await insertBeltOutputs(client, r.belt, r.outcomes, { applied: true, refused: applied.refused });
        if (!input.records) await markBatchDone(client, input);
        await enriched;
        faultPoint('before-commit', 'processBatch', applied.applied);
        await faultPause(applied.applied);
        return { fresh, freshBad, kept, applied };
      });
      faultPoint('after-commit', 'processBatch', done.applied.applied);
      deps.profiles.remember(done.applied.written);
      timer();

      for (const b of done.freshBad) badRowsMetric.inc({ type: b.type });
      updatesApplied.inc(done.applied.applied);
      const beltRuns = done.kept.map((r) => {
        const errors = r.outcomes.filter((o) => o.error !== null).length + (done.applied.refused.get(r.belt.name)?.size ?? 0);
        if (errors > 0) beltErrors.inc({ belt: r.belt.name }, errors);
        return { belt: r.belt.name, version: r.belt.version, ran: r.outcomes.length, errors };
      });
      const duplicates = expanded.duplicates + (events.length - done.fresh.size);
      if (badRows.length > 0) log.warn({ batchId: id, workflowId: workflowId(), badRows: badRows.length, types: [...new Set(done.freshBad.map((b) => b.type))] }, 'bad rows stored');
      log.debug({ batchId: id, workflowId: workflowId(), events: events.length, duplicates, applied: done.applied.applied, queued: queuedBelts.map((b) => b.name) }, 'batch processed');
      if (done.applied.outbox !== null) deps.changes.publish(done.applied.outbox);
      return {
        batchId: id,
        events: events.length,
        duplicates,
        badRows: badRows.length,
        eventTypes: listedTypes,
        beltRuns,
        queuedBelts,
        applied: done.applied.applied,
        profiles: done.applied.profiles,
        buckets: done.applied.buckets,
        bucketMs: cfg.BELTLINE_EXPIRY_BUCKET_MS,
        // Also when some events were stored before (a retried or replayed batch): actions that
        // failed then are tried again, and those sent stay sent.
        actions: done.fresh.size < events.length || done.kept.some((r) => r.outcomes.some((o) => o.error === null && o.actions.length > 0)),
      };
    },
  };
}
