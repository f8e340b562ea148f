import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { HttpError } from '../http/app';
import { requireAdminKey } from '../http/auth';
import { assertProject, projectParam } from '../http/projects';
import { BUILT_IN_TYPES, DefinitionError, EVENT_TYPE_KINDS, parseEventTypeBody, type EventType } from './definition';
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
} as const;

// The body is checked by parseEventTypeBody, whose errors name the field; fastify only needs an object.
const bodySchema = { type: 'object', additionalProperties: true } as const;
const nameParams = { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } } as const;

function parse(body: unknown, fixedName?: string): EventType {
  try {
    return parseEventTypeBody(body, fixedName);
  } catch (err) {
    if (err instanceof DefinitionError) throw new HttpError(400, 'bad_request', err.message, { field: err.field });
    throw err;
  }
}

export function registerEventTypeRoutes(app: FastifyInstance, pool: Pool, adminKey: string, onChange: () => void = () => undefined): void {
  const preHandler = requireAdminKey(adminKey);
  const tags = ['event types'];
  const security = [{ adminKey: [] }];
  const errors = { 400: { $ref: 'Error#' }, 401: { $ref: 'Error#' }, 404: { $ref: 'Error#' }, 409: { $ref: 'Error#' } };

  app.post(
    '/projects/:project/event-types',
    { preHandler, schema: { summary: 'Create an event type (seed 001 body)', tags, security, params: projectParam, body: bodySchema, response: { 201: eventTypeSchema, ...errors } } },
    async (req, reply) => {
      const { project } = req.params as { project: string };
      assertProject(project);
      const t = parse(req.body);
      if (!(await createEventType(pool, project, t))) throw new HttpError(409, 'conflict', `event type ${JSON.stringify(t.name)} exists already; PUT to change it`);
      onChange();
      return reply.status(201).send(t);
    },
  );

  app.get(
    '/projects/:project/event-types',
    { preHandler, schema: { summary: 'List event types', tags, security, params: projectParam, response: { 200: { type: 'array', items: eventTypeSchema }, ...errors } } },
    async (req) => {
      const { project } = req.params as { project: string };
      assertProject(project);
      return listEventTypes(pool, project);
    },
  );

  app.get(
    '/projects/:project/event-types/:name',
    { preHandler, schema: { summary: 'One event type', tags, security, params: nameParams, response: { 200: eventTypeSchema, ...errors } } },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      assertProject(project);
      const t = await getEventType(pool, project, name);
      if (!t) throw new HttpError(404, 'not_found', `no event type ${JSON.stringify(name)}`);
      return t;
    },
  );

  app.put(
    '/projects/:project/event-types/:name',
    { preHandler, schema: { summary: 'Replace an event type\'s definition', tags, security, params: nameParams, body: bodySchema, response: { 200: eventTypeSchema, ...errors } } },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      assertProject(project);
      if (BUILT_IN_TYPES.has(name)) throw new HttpError(400, 'bad_request', `${name} is built in and cannot be changed`);
      const t = parse(req.body, name);
      if (!(await updateEventType(pool, project, t))) throw new HttpError(404, 'not_found', `no event type ${JSON.stringify(name)}`);
      onChange();
      return t;
    },
  );

  app.delete(
    '/projects/:project/event-types/:name',
    { preHandler, schema: { summary: 'Delete an event type', tags, security, params: nameParams, response: { 204: { type: 'null' }, ...errors } } },
    async (req, reply) => {
      const { project, name } = req.params as { project: string; name: string };
      assertProject(project);
      if (BUILT_IN_TYPES.has(name)) throw new HttpError(400, 'bad_request', `${name} is built in and cannot be deleted`);
      if (!(await deleteEventType(pool, project, name))) throw new HttpError(404, 'not_found', `no event type ${JSON.stringify(name)}`);
      onChange();
      return reply.status(204).send();
    },
  );
}
