import type { Pool } from 'pg';
import { definitionTable } from '../db/definition-table';
import type { ActionDefinition } from './definition';

const table = definitionTable<ActionDefinition>('actions');

export const listActions = table.list;
export const getAction = table.get;
export const createAction = table.create;
export const updateAction = table.update;
export const deleteAction = table.remove;

/** One delivery as recorded in action_runs. */
export interface ActionRun {
  idempotencyKey: string;
  action: string;
  eventId: string;
  belt: string;
  index: number;
  dedupeKey: string | null;
  payload: unknown;
  state: 'pending' | 'sent' | 'failed';
  attempts: number;
  lastError: string | null;
  responseStatus: number | null;
  createdAt: string;
  sentAt: string | null;
}

/** The latest deliveries, newest first; by action and state when given. */
export async function listActionRuns(pool: Pool, project: string, opts: { action?: string; state?: string; limit?: number } = {}): Promise<ActionRun[]> {
  const { rows } = await pool.query<{
    idempotency_key: string;
    action: string;
    event_id: string;
    belt: string;
    action_index: number;
    dedupe_key: string | null;
    payload: unknown;
    state: ActionRun['state'];
    attempts: number;
    last_error: string | null;
    response_status: number | null;
    created_at: Date;
    sent_at: Date | null;
  }>(
    `SELECT * FROM action_runs WHERE project = $1 AND ($2::text IS NULL OR action = $2) AND ($3::text IS NULL OR state = $3)
      ORDER BY created_at DESC, idempotency_key LIMIT $4`,
    [project, opts.action ?? null, opts.state ?? null, opts.limit ?? 100],
  );
  return rows.map((r) => ({
    idempotencyKey: r.idempotency_key,
    action: r.action,
    eventId: r.event_id,
    belt: r.belt,
    index: r.action_index,
    dedupeKey: r.dedupe_key,
    payload: r.payload,
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error,
    responseStatus: r.response_status,
    createdAt: r.created_at.toISOString(),
    sentAt: r.sent_at ? r.sent_at.toISOString() : null,
  }));
}
