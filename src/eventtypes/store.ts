import type { Pool, PoolClient } from 'pg';
import { DefinitionCache, type DefinitionsFeed } from '../db/definitions-feed';
import { withTransaction } from '../db/pool';
import { ensureSegment } from '../segments/store';
import type { EventType } from './definition';

interface Row {
  name: string;
  display_name: string;
  description: string;
  type: EventType['type'];
  event_id_expression: string;
  timestamp_expression: string;
  correlation_id_expression: string;
  eventstore_ttl: string | null;
  schema: Record<string, unknown> | null;
  schema_version: number | null;
}

function fromRow(r: Row): EventType {
  return {
    name: r.name,
    displayName: r.display_name,
    description: r.description,
    type: r.type,
    eventIdExpression: r.event_id_expression,
    timestampExpression: r.timestamp_expression,
    correlationIdExpression: r.correlation_id_expression,
    ...(r.eventstore_ttl ? { eventstoreTTL: r.eventstore_ttl } : {}),
    ...(r.schema ? { schema: r.schema } : {}),
    ...(r.type === 'live_segment' && r.schema_version ? { schemaVersion: r.schema_version } : {}),
  };
}

const COLUMNS = 'name, display_name, description, type, event_id_expression, timestamp_expression, correlation_id_expression, eventstore_ttl, schema';
const SELECT = `SELECT ${COLUMNS.split(', ').map((c) => `t.${c}`).join(', ')},
  (SELECT max(s.version) FROM live_segments s WHERE s.project = t.project AND s.name = t.name) AS schema_version
  FROM event_types t`;

export async function listEventTypes(pool: Pool, project: string): Promise<EventType[]> {
  const { rows } = await pool.query<Row>(`${SELECT} WHERE t.project = $1 ORDER BY t.name`, [project]);
  return rows.map(fromRow);
}

export async function getEventType(pool: Pool, project: string, name: string): Promise<EventType | undefined> {
  const { rows } = await pool.query<Row>(`${SELECT} WHERE t.project = $1 AND t.name = $2`, [project, name]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

function values(project: string, t: EventType): unknown[] {
  return [
    project,
    t.name,
    t.displayName,
    t.description,
    t.type,
    t.eventIdExpression,
    t.timestampExpression,
    t.correlationIdExpression,
    t.eventstoreTTL ?? null,
    t.schema ? JSON.stringify(t.schema) : null,
  ];
}

/** A live segment's table follows its type's schema, in the same transaction as the definition. */
async function syncSegment(client: PoolClient, project: string, t: EventType): Promise<void> {
  if (t.type !== 'live_segment' || !t.schema) return;
  t.schemaVersion = await ensureSegment(client, project, t.name, t.schema, t.schemaVersion);
}

/** Creates the type (and a live segment's table); false when one of that name exists already. */
export async function createEventType(pool: Pool, project: string, t: EventType): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO event_types (project, ${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
      values(project, t),
    );
    if (rowCount !== 1) return false;
    await syncSegment(client, project, t);
    return true;
  });
}

/** Replaces the type's definition (evolving a live segment's table); false when there is none of that name. */
export async function updateEventType(pool: Pool, project: string, t: EventType): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `UPDATE event_types SET display_name = $3, description = $4, type = $5, event_id_expression = $6, timestamp_expression = $7,
              correlation_id_expression = $8, eventstore_ttl = $9, schema = $10, updated_at = now()
        WHERE project = $1 AND name = $2`,
      values(project, t),
    );
    if (rowCount !== 1) return false;
    await syncSegment(client, project, t);
    return true;
  });
}

export async function deleteEventType(pool: Pool, project: string, name: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM event_types WHERE project = $1 AND name = $2', [project, name]);
  return rowCount === 1;
}

/**
 * The project's event types for the hot paths (collector, batches), kept current by the
 * definitions feed: a type created or changed through the API is in effect when the API answers.
 */
export class EventTypeCache extends DefinitionCache<EventType> {
  constructor(pool: Pool, feed: DefinitionsFeed | undefined, opts: { serveStale?: boolean } = {}) {
    super({ kind: 'event_type', all: (project) => listEventTypes(pool, project), one: (project, name) => getEventType(pool, project, name), nameOf: (t) => t.name }, feed, opts);
  }
}
