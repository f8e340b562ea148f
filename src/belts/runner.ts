import type { Pool } from 'pg';
import { logger } from '../log';
import type { EventHeaders } from '../events/expand';
import type { JsonObject } from '../profiles/semantics';
import { javascriptSource, type BeltDefinition, type BeltRef } from './definition';
import { classifyOutputs, type ClassifiedOutputs } from './outputs';
import type { BeltOutcome } from './outputs-store';
import { PythonBeltPool } from './python';
import { loadBelt } from './registry';
import { BeltSandbox } from './sandbox';

const log = logger('belts');

/** An event as a belt run takes it. */
export interface BeltEvent {
  eventId: string;
  correlationId: string;
  headers: EventHeaders;
  payload: unknown;
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
    const inputs = events.map((e) => ({
      eventId: e.eventId,
      headers: e.headers,
      payload: e.payload,
      profile: profiles.get(e.correlationId) ?? null,
      metadata: { topic: e.headers['kafka-topic'], partition: e.headers['kafka-partition'], offset: e.headers['kafka-offset'] },
    }));
    const results =
      def.beltType === 'python-callback'
        ? await this.python().runBatch(def.extractorFn, `${ref.name}.py`, inputs)
        : await (await this.sandboxFor(ref)).runBatch(inputs);
    return results.map((r) => {
      let error: BeltOutcome['error'] = r.error ? { ...r.error, logs: r.logs } : null;
      let kept: ClassifiedOutputs = { updates: [], direct: [], actions: [] };
      if (!error) {
        try {
          kept = classifyOutputs(def, r.outputs, isLiveSegment);
        } catch (err) {
          error = { kind: 'exception', message: (err as Error).message, logs: r.logs };
        }
      }
      if (r.logs.length > 0) log.info({ ...context, belt: ref.name, version: ref.version, eventId: r.eventId, logs: r.logs }, 'belt output');
      if (error) log.warn({ ...context, belt: ref.name, version: ref.version, eventId: r.eventId, error: error.message }, 'belt failed for event');
      return { eventId: r.eventId, ...kept, error };
    });
  }
}
