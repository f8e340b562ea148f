import { errorReplies, type AdminRoutes } from '../http/api';
import { browseEvents, type BrowseOptions } from '../events/store';
import { HttpError } from '../http/app';
import { projectParam } from '../http/projects';
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
    schemaVersion: {
      type: 'integer',
      minimum: 1,
      description: 'live_segment: version of its table; send the next number to change the schema incompatibly into a new table',
    },
  },
};

const eventPageSchema = {
  type: 'object',
  required: ['events', 'next'],
  properties: {
    events: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          eventId: { type: 'string' },
          correlationId: { type: 'string' },
          created: { type: 'string', format: 'date-time' },
          headers: { type: 'object', additionalProperties: true },
          payload: {},
        },
      },
    },
    next: { type: ['string', 'null'], description: 'cursor of the next page (pass as `after`, with the same order)' },
  },
};

export const eventTypeRoutes: AdminRoutes = (app, { projects }) => {
  const find = registerResourceRoutes(
    app,
    projects,
    {
      path: 'event-types',
      noun: 'event type',
      tag: 'event types',
      itemSchema: eventTypeSchema,
      parse: parseEventTypeBody,
      list: (project) => listEventTypes(projects.db(project), project),
      get: (project, name) => getEventType(projects.db(project), project, name),
      create: (project, t) => createEventType(projects.db(project), project, t),
      update: (project, t) => updateEventType(projects.db(project), project, t),
      remove: (project, name) => deleteEventType(projects.db(project), project, name),
      builtIn: BUILT_IN_TYPES,
    },
  );

  app.get(
    '/projects/:project/event-types/:name/events',
    {
      schema: {
        summary: 'Browse the event store: events of a type in time order (oldest first, or newest first with order=desc)',
        tags: ['event store'],
        params: { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } },
        querystring: {
          type: 'object',
          properties: {
            from: { type: 'string', format: 'date-time', description: 'event time, inclusive' },
            to: { type: 'string', format: 'date-time', description: 'event time, exclusive' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            after: { type: 'string', description: 'the `next` cursor of the previous page (of the same order)' },
            order: { type: 'string', enum: ['asc', 'desc'], default: 'asc', description: 'asc: oldest first; desc: newest first, `next` then pages back in time' },
            correlationId: { type: 'string', minLength: 1, description: 'only the events of this correlation id' },
          },
        },
        response: { 200: eventPageSchema, ...errorReplies(400, 404) },
      },
    },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      await find(project, name);
      const q = req.query as BrowseOptions;
      try {
        return await browseEvents(projects.db(project), name, q);
      } catch (err) {
        if ((err as Error).message.startsWith('after:')) throw new HttpError(400, 'bad_request', (err as Error).message);
        throw err;
      }
    },
  );
}
