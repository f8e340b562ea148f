import type { Pool, PoolClient } from 'pg';
import type { EventSelector } from '../batches/record';
import type { ProfileUpdate } from '../profiles/semantics';
import type { ActionOutput, DirectUpdateOutput } from './outputs';

/** What a belt made of one event, as kept in belt_outputs. */
export interface BeltOutcome {
  eventId: string;
  updates: ProfileUpdate[];
  direct: DirectUpdateOutput[];
  actions: ActionOutput[];
  error: { kind: string; message: string; stack?: string; logs?: string[] } | null;
}

/** A belt output ready to apply: its event's time orders it against other writes. */
export interface OutputRow {
  eventId: string;
  belt: string;
  updates: ProfileUpdate[];
  direct: DirectUpdateOutput[];
  /** Epoch ms of the event. */
  created: number;
}

/** Updates the store would not apply (a link between two known profiles): belt → event → why. */
export type Refusals = Map<string, Map<string, string>>;

/** The SQL condition and parameter that pick a selector's events from `events e`. */
export function selectorWhere(sel: EventSelector, param: number): { where: string; value: string | string[] } {
  return 'batchId' in sel ? { where: `e.batch_id = $${param}`, value: sel.batchId } : { where: `e.event_id = ANY($${param}::text[])`, value: sel.eventIds };
}

/**
 * Keeps a belt's outcomes. Events it already has a result for keep the first one, unless
 * `retryFailed` replaces failed results; `applied` marks outputs applied in the same transaction.
 */
export async function insertBeltOutputs(
  q: Pool | PoolClient,
  belt: { name: string; version: string },
  outcomes: readonly BeltOutcome[],
  opts: { retryFailed?: boolean; applied?: boolean; refused?: Refusals } = {},
): Promise<void> {
  if (outcomes.length === 0) return;
  const refused = opts.refused?.get(belt.name);
  const errors = outcomes.map((o) => {
    const refusal = refused?.get(o.eventId);
    if (refusal) return { kind: 'refused', message: refusal };
    return o.error;
  });
  // One JSON parameter for all rows (see insertEvents); a result with an error is not applied.
  await q.query(
    `INSERT INTO belt_outputs (event_id, belt, belt_version, outputs, direct, actions, error, applied)
     SELECT t.event_id, $2, $3, t.outputs, t.direct, t.actions, t.error, t.applied
       FROM jsonb_to_recordset($1::jsonb) AS t(event_id text, outputs jsonb, direct jsonb, actions jsonb, error jsonb, applied boolean)
     ON CONFLICT (event_id, belt) DO UPDATE
       SET belt_version = excluded.belt_version, outputs = excluded.outputs, direct = excluded.direct, actions = excluded.actions,
           error = excluded.error, applied = excluded.applied, created_at = now()
       WHERE belt_outputs.error IS NOT NULL AND $4`,
    [
      JSON.stringify(
        outcomes.map((o, i) => ({
          event_id: o.eventId,
          outputs: o.updates,
          direct: o.direct,
          actions: o.actions,
          error: errors[i],
          applied: opts.applied === true && errors[i] === null,
        })),
      ),
      belt.name,
      belt.version,
      opts.retryFailed === true,
    ],
  );
}

/** Locks and returns the outputs of these events not applied yet (queued belts, reruns). */
export async function lockPendingOutputs(client: PoolClient, sel: EventSelector): Promise<OutputRow[]> {
  const { where, value } = selectorWhere(sel, 1);
  const { rows } = await client.query<{ event_id: string; belt: string; outputs: ProfileUpdate[]; direct: DirectUpdateOutput[]; created: number }>(
    `SELECT o.event_id, o.belt, o.outputs, o.direct, (extract(epoch FROM e.created_at) * 1000)::float8 AS created
       FROM belt_outputs o JOIN events e USING (event_id)
      WHERE ${where} AND NOT o.applied AND o.error IS NULL
      ORDER BY o.event_id, o.belt
      FOR UPDATE OF o`,
    [value],
  );
  return rows.map((r) => ({ eventId: r.event_id, belt: r.belt, updates: r.outputs, direct: r.direct, created: Math.round(r.created) }));
}

export async function markOutputsApplied(client: PoolClient, rows: readonly OutputRow[], refused: Refusals): Promise<void> {
  await client.query(
    `UPDATE belt_outputs o SET applied = true FROM unnest($1::text[], $2::text[]) AS t(e, b)
      WHERE o.event_id = t.e AND o.belt = t.b`,
    [rows.map((r) => r.eventId), rows.map((r) => r.belt)],
  );
  for (const [belt, events] of refused) {
    for (const [eventId, reason] of events) {
      await client.query('UPDATE belt_outputs SET error = $3 WHERE event_id = $1 AND belt = $2', [eventId, belt, JSON.stringify({ kind: 'refused', message: reason })]);
    }
  }
}
