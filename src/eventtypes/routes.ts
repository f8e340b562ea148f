import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { registerResourceRoutes } from '../http/resource';
import { BUILT_IN_TYPES, EVENT_TYPE_KINDS, parseEventTypeBody } from './definition';
import { createEventType, deleteEventType, getEventType, listEventTypes, updateEventType } from './store';

const eventTypeSchema = {
  type: 'object',
  required: ['name', 'displayName', 'type', 'eventIdExpression', 'timestampExpression', 'correlationIdExpression'],
  properties: {
    name: { type: 'string', description: 'technical name; derived from displayName when absent' },
    displayName: { type: 'string' },
    description: { type: 'string' },
    type: { type: 'string', enum: [...EVENT_TYPE_KINDS] },
    eventIdExpression: { type: 'string', description: '#randomUUID(), #nowMillis() or a JSON path into the payload' },
    timestampExpression: { type: 'string' },
    correlationIdExpression: { type: 'string' },
    eventstoreTTL: { type: 'string', description: 'ISO-8601 duration' },
    schema: { type: 'object', additionalProperties: true, description: 'live_segment: JSON Schema (object or string-escaped)' },
  },
};

export function registerEventTypeRoutes(app: FastifyInstance, pool: Pool, adminKey: string): void {
  registerResourceRoutes(
    app,
    {
      path: 'event-types',
      noun: 'event type',
      tag: 'event types',
      itemSchema: eventTypeSchema,
      parse: parseEventTypeBody,
      list: (project) => listEventTypes(pool, project),
      get: (project, name) => getEventType(pool, project, name),
      create: (project, t) => createEventType(pool, project, t),
      update: (project, t) => updateEventType(pool, project, t),
      remove: (project, name) => deleteEventType(pool, project, name),
      builtIn: BUILT_IN_TYPES,
    },
    adminKey,
  );
}
