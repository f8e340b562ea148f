import { parseUpdate, UpdateError, type ProfileUpdate } from '../profiles/semantics';
import type { BeltDefinition } from './definition';

export interface DirectUpdateOutput {
  eventType: string;
  row: Record<string, unknown>;
}

/** An outside action a belt asked for (seed 004's output side); run after the batch is applied. */
export interface ActionOutput {
  name: string;
  payload: unknown;
  /** Dedupe key (`Action(name, payload, {key})`): one delivery per (name, key), whichever event asks first. */
  key?: string;
}

export interface ClassifiedOutputs {
  updates: ProfileUpdate[];
  direct: DirectUpdateOutput[];
  actions: ActionOutput[];
}

/** Whether an event type is a live segment. */
export type LiveSegmentLookup = (name: string) => boolean;

const ACTION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * Checks what a belt returned for one event against the seed's rules. Throws an Error whose
 * message says which output is wrong and why; the caller records it as that event's belt error.
 */
export function classifyOutputs(def: BeltDefinition, outputs: unknown[], isLiveSegment: LiveSegmentLookup): ClassifiedOutputs {
  const result: ClassifiedOutputs = { updates: [], direct: [], actions: [] };
  outputs.forEach((o, i) => {
    if (typeof o === 'object' && o !== null && '_direct' in o) {
      const { _direct: eventType, row } = o as { _direct: unknown; row: unknown };
      const declared = def.outputTypes.some((t) => t.name === eventType);
      if (typeof eventType !== 'string' || !declared) {
        throw new Error(`output ${i}: DirectUpdate target ${JSON.stringify(eventType)} is not in this belt's outputTypes`);
      }
      if (!isLiveSegment(eventType)) throw new Error(`output ${i}: DirectUpdate target ${JSON.stringify(eventType)} is not a live_segment event type`);
      if (typeof row !== 'object' || row === null || Array.isArray(row) || typeof (row as { id?: unknown }).id !== 'string') {
        throw new Error(`output ${i}: DirectUpdate row must be an object with a string "id"`);
      }
      result.direct.push({ eventType, row: row as Record<string, unknown> });
      return;
    }
    if (typeof o === 'object' && o !== null && '_action' in o) {
      const { _action: name, payload, key } = o as { _action: unknown; payload?: unknown; key?: unknown };
      if (typeof name !== 'string' || !ACTION_NAME.test(name)) {
        throw new Error(`output ${i}: Action name must be 1-63 lower-case letters, digits, _ or -; got ${JSON.stringify(name)}`);
      }
      if (key !== undefined && key !== null && (typeof key !== 'string' || key === '' || key.length > 500)) {
        throw new Error(`output ${i}: Action key must be a non-empty string of at most 500 characters; got ${JSON.stringify(key)}`);
      }
      result.actions.push({ name, payload: payload ?? null, ...(typeof key === 'string' ? { key } : {}) });
      return;
    }
    try {
      result.updates.push(parseUpdate(o));
    } catch (err) {
      if (err instanceof UpdateError) throw new Error(`output ${i}: ${err.message}`);
      throw err;
    }
  });
  return result;
}
