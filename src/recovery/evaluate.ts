import type { BadRow } from '../badrows/format';
import type { RecoveryConfig } from './config';
import { openPayload, recoverBadRow, type RecoveryOutcome } from './flows';
import { NotAnEvent, toRawRecord, type RecoveredRecord, type RecoveryProvenance } from './records';

export interface Evaluated {
  outcome: RecoveryOutcome;
  /** The record a run would send to `raw`: only for a recovered row. */
  record?: RecoveredRecord;
}

/**
 * One bad row through a configuration, up to the record a run would publish; what the recovery
 * activity and the API's dry run both call, so a preview cannot say other than a run does. Pure.
 */
export function evaluateBadRow(config: RecoveryConfig, row: BadRow, provenance: RecoveryProvenance['recovery'], now: number): Evaluated {
  const outcome = recoverBadRow(config, row);
  if (outcome.status !== 'recovered') return { outcome };
  try {
    return { outcome, record: toRawRecord(row, outcome.payload, provenance, now) };
  } catch (err) {
    if (!(err instanceof NotAnEvent)) throw err;
    return { outcome: { status: 'failed', flow: outcome.flow, reason: `flow "${outcome.flow}": ${err.message}`, changes: outcome.changes } };
  }
}

export interface PayloadPreview {
  /** The bad row's payload as stored, and as it would be sent (encoded fields encoded again). */
  original: unknown;
  recovered?: unknown;
  /** The same two with their encoded JSON opened (base64 `ue_px`/`cx`, escaped `ue_pr`/`co`), as flows see them: what a person can diff. */
  view: { original: unknown; recovered?: unknown };
}

/** A dry run's before and after of one row's payload. Pure. */
export function previewPayload(row: BadRow, outcome: RecoveryOutcome): PayloadPreview {
  const original = row.data.payload;
  if (outcome.status !== 'recovered') return { original, view: { original: openPayload(original).view } };
  return { original, recovered: outcome.payload, view: { original: openPayload(original).view, recovered: openPayload(outcome.payload).view } };
}
