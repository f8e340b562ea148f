import { parseUpdate, UpdateError, type ProfileUpdate } from '../profiles/semantics';
import type { BeltDefinition } from './definition';

export interface DirectUpdateOutput {
  eventType: string;
  row: Record<string, unknown>;
}

export interface ClassifiedOutputs {
  updates: ProfileUpdate[];
  direct: DirectUpdateOutput[];
}

/** Event types known to be live segments; the skeleton has none, later issues register them. */
export type LiveSegmentLookup = (name: string) => boolean;

/**
 * Checks what a belt returned for one event against the seed's rules. Throws an Error whose
 * message says which output is wrong and why; the caller records it as that event's belt error.
 */
export function classifyOutputs(def: BeltDefinition, outputs: unknown[], isLiveSegment: LiveSegmentLookup): ClassifiedOutputs {
  const result: ClassifiedOutputs = { updates: [], direct: [] };
  outputs.forEach((o, i) => {
    if (typeof o === 'object' && o !== null && '_direct' in o) {
      const { _direct: eventType, row } = o as { _direct: unknown; row: unknown };
      const declared = def.outputTypes.some((t) => t.name === eventType);
      if (typeof eventType !== 'string' || !declared || !isLiveSegment(eventType)) {
        throw new Error(
          `output ${i}: DirectUpdate target ${JSON.stringify(eventType)} is not a live_segment event type in this belt's outputTypes`,
        );
      }
      if (typeof row !== 'object' || row === null || typeof (row as { id?: unknown }).id !== 'string') {
        throw new Error(`output ${i}: DirectUpdate row must be an object with a string "id"`);
      }
      result.direct.push({ eventType, row: row as Record<string, unknown> });
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
