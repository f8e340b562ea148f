import type { Pool } from 'pg';
import { logger } from '../log';
import type { EventHeaders } from '../events/expand';
import type { JsonObject } from '../profiles/semantics';
import { javascriptSource, type BeltDefinition, type BeltRef } from './definition';
import { classifyOutputs, type ClassifiedOutputs } from './outputs';
import type { BeltOutcome } from './outputs-store';
import { PythonBeltPool } from './python';
import { loadBelt } from './registry';
import { BeltSandbox, type BeltInput, type BeltResult } from './sandbox';

const log = logger('belts');

/** An event as a belt run takes it. */
export interface BeltEvent {
  eventId: string;
  correlationId: string;
  headers: EventHeaders;
  payload: unknown;
}

/** What a belt sees of one event: the event, the current profile of its correlation id, seed 000's Kafka metadata. */
export function beltInput(e: BeltEvent, profile: JsonObject | null): BeltInput {
  return {
    eventId: e.eventId,
    headers: e.headers,
    payload: e.payload,
    profile,
    metadata: { topic: e.headers['kafka-topic'], partition: e.headers['kafka-partition'], offset: e.headers['kafka-offset'] },
  };
}

/**
 * A sandbox's result for one event as the pipeline keeps it: the outputs checked against the
 * seed's rules and sorted, or the event's error (a throw, a limit, or an output breaking a rule).
 */
export function beltOutcome(def: BeltDefinition, r: BeltResult, isLiveSegment: (name: string) => boolean): BeltOutcome {
  let error: BeltOutcome['error'] = r.error ? { ...r.error, logs: r.logs } : null;
  let kept: ClassifiedOutputs = { updates: [], direct: [], actions: [] };
  if (!error) {
    try {
      kept = classifyOutputs(def, r.outputs, isLiveSegment);
    } catch (err) {
      error = { kind: 'exception', message: (err as Error).message, logs: r.logs };
    }
  }
  return { eventId: r.eventId, ...kept, error };
}

/**
 * Runs belt versions in their sandboxes: JavaScript (and TypeScript) in a V8 isolate per belt
 * version, seed-style Python callbacks in a pool of sandboxed python3 processes. A throw, a
 * timeout or a memory blow-up is that event's error; the other events go on.
 */
export class BeltRunner {
  private readonly sandboxes = new Map<string, Promise<BeltSandbox>>();
  private pythonPool: PythonBeltPool | undefined;

  constructor(private readonly pool: Pool) {}

  private sandboxFor(ref: BeltRef): Promise<BeltSandbox> {
    const key = `${ref.name}@${ref.version}`;
    let sb = this.sandboxes.get(key);
    if (!sb) {
      sb = loadBelt(this.pool, ref).then((def) => BeltSandbox.create(javascriptSource(def), `${ref.name}.js`));
      sb.catch(() => this.sandboxes.delete(key));
      this.sandboxes.set(key, sb);
    }
    return sb;
  }

  private python(): PythonBeltPool {
    return (this.pythonPool ??= new PythonBeltPool({ processes: 2 }));
  }

  /** Frees the sandboxes and the Python processes (the project was deleted, or the worker stops). */
  async close(): Promise<void> {
    const sandboxes = [...this.sandboxes.values()];
    this.sandboxes.clear();
    for (const sb of sandboxes) (await sb.catch(() => undefined))?.dispose();
    await this.pythonPool?.close();
    this.pythonPool = undefined;
  }

  /** Runs one belt version over events; each gets the current profile of its correlation id. */
  async run(
    ref: BeltRef,
    def: BeltDefinition,
    events: readonly BeltEvent[],
    profiles: ReadonlyMap<string, JsonObject>,
    isLiveSegment: (name: string) => boolean,
    context: { workflowId?: string } = {},
  ): Promise<BeltOutcome[]> {
    if (events.length === 0) return [];
    const inputs = events.map((e) => beltInput(e, profiles.get(e.correlationId) ?? null));
    const results =
      def.beltType === 'python-callback'
        ? await this.python().runBatch(def.extractorFn, `${ref.name}.py`, inputs)
        : await (await this.sandboxFor(ref)).runBatch(inputs);
    return results.map((r) => {
      const outcome = beltOutcome(def, r, isLiveSegment);
      if (r.logs.length > 0) log.info({ ...context, belt: ref.name, version: ref.version, eventId: r.eventId, logs: r.logs }, 'belt output');
      if (outcome.error) log.warn({ ...context, belt: ref.name, version: ref.version, eventId: r.eventId, error: outcome.error.message }, 'belt failed for event');
      return outcome;
    });
  }
}
