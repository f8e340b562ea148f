import crypto from 'node:crypto';
import type { Pool } from 'pg';
import type { EventHeaders } from '../events/expand';
import type { JsonObject } from '../profiles/semantics';
import { javascriptSource, type BeltDefinition } from './definition';
import type { BeltOutcome } from './outputs-store';
import type { PythonBeltPool } from './python';
import { beltInput, beltOutcome, type BeltEvent } from './runner';
import { BeltSandbox, type BeltInput, type BeltResult } from './sandbox';

/** Runs a belt definition on one event in production's sandbox and limits, and keeps nothing. */
export type BeltTrialRunner = (def: BeltDefinition, input: BeltInput) => Promise<BeltResult>;

/**
 * The trial runner of the admin API: JavaScript in a fresh isolate with the worker's limits (the
 * definition is not stored, so nothing can be cached by version), Python in `python()`, a pool of
 * the worker's kind and limits made on first use.
 */
export function sandboxedTrials(python: () => PythonBeltPool): BeltTrialRunner {
  return async (def, input) => {
    if (def.beltType === 'python-callback') return (await python().runBatch(def.extractorFn, `${def.name}.py`, [input]))[0];
    const sb = await BeltSandbox.create(javascriptSource(def), `${def.name}.js`);
    try {
      return (await sb.runBatch([input]))[0];
    } finally {
      sb.dispose();
    }
  };
}

/** A pasted event: its payload, and any headers to set or override. */
export interface PastedEvent {
  headers?: Record<string, string | number>;
  payload: unknown;
}

/**
 * A pasted event as the pipeline would hand it over: the seed's `grnry-*` headers made up where
 * not given (a `try-` event id, now, the belt's first input type); its correlation id is the
 * given `grnry-correlation-id`, else one of its own that no profile has.
 */
export function pastedEvent(def: BeltDefinition, e: PastedEvent, now: number, random: () => string = () => crypto.randomBytes(6).toString('hex')): BeltEvent {
  const id = `try-${random()}`;
  const headers: EventHeaders = {
    'grnry-event-id': id,
    'grnry-correlation-id': id,
    'grnry-created': now,
    'grnry-event-type': def.eventTypes[0],
    ...e.headers,
  };
  return { eventId: String(headers['grnry-event-id']), correlationId: String(headers['grnry-correlation-id']), headers, payload: e.payload };
}

/** A stored event of one of the belt's input types, or undefined. */
export async function storedEvent(pool: Pool, eventTypes: readonly string[], eventId: string): Promise<BeltEvent | undefined> {
  const { rows } = await pool.query<{ event_id: string; correlation_id: string; headers: EventHeaders; payload: unknown }>(
    'SELECT event_id, correlation_id, headers, payload FROM events WHERE event_id = $1 AND event_type = ANY($2::text[]) LIMIT 1',
    [eventId, eventTypes],
  );
  const r = rows[0];
  return r && { eventId: r.event_id, correlationId: r.correlation_id, headers: r.headers, payload: r.payload };
}

export interface TrialReport {
  outcome: BeltOutcome;
  /** What the belt returned, before the seed's rules sorted it (or refused it). */
  outputs: unknown[];
  logs: string[];
  durationMs: number;
}

/** Runs the belt once on the event with the profile given; the outcome is what the pipeline would keep. */
export async function tryBelt(
  run: BeltTrialRunner,
  def: BeltDefinition,
  event: BeltEvent,
  profile: JsonObject | null,
  isLiveSegment: (name: string) => boolean,
): Promise<TrialReport> {
  const started = performance.now();
  const result = await run(def, beltInput(event, profile));
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  return { outcome: beltOutcome(def, result, isLiveSegment), outputs: result.outputs, logs: result.logs, durationMs };
}
