import { errorReplies, type AdminRoutes } from '../http/api';
import { projectParam } from '../http/projects';
import { registerResourceRoutes } from '../http/resource';
import { parseActionBody } from './definition';
import { createAction, deleteAction, getAction, listActionRuns, listActions, updateAction } from './store';
import { checkActionUrl } from './targets';

const actionSchema = {
  type: 'object',
  required: ['name', 'type', 'url', 'method', 'headers', 'timeoutMs', 'retry'],
  properties: {
    name: { type: 'string', description: 'what belts pass to Action(name, payload)' },
    description: { type: 'string' },
    type: { type: 'string', enum: ['webhook'] },
    url: { type: 'string', description: 'http(s) URL the payload is sent to as JSON; not a loopback, link-local or private address unless BELTLINE_ACTION_ALLOWED_HOSTS allows it' },
    method: { type: 'string', enum: ['POST', 'PUT', 'PATCH'] },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'values may reference ${env:BELTLINE_ACTION_…} of the worker' },
    timeoutMs: { type: 'integer' },
    retry: {
      type: 'object',
      properties: {
        maximumAttempts: { type: 'integer' },
        initialIntervalMs: { type: 'integer' },
        maximumIntervalMs: { type: 'integer' },
        backoffCoefficient: { type: 'number' },
      },
    },
  },
};

const runSchema = {
  type: 'object',
  properties: {
    idempotencyKey: { type: 'string' },
    action: { type: 'string' },
    eventId: { type: 'string' },
    belt: { type: 'string' },
    index: { type: 'integer' },
    dedupeKey: { type: ['string', 'null'] },
    payload: {},
    state: { type: 'string', enum: ['pending', 'sent', 'failed'] },
    attempts: { type: 'integer' },
    lastError: { type: ['string', 'null'] },
    responseStatus: { type: ['integer', 'null'] },
    createdAt: { type: 'string' },
    sentAt: { type: ['string', 'null'] },
  },
};

/**
 * CRUD of actions under the admin key, and the deliveries of one action (action_runs). A URL
 * that targets an internal address is refused here (400 on `url`) and again at delivery.
 */
export const actionRoutes: AdminRoutes = (app, { projects, actionHosts: allowed }) => {
  const find = registerResourceRoutes(
    app,
    projects,
    {
      path: 'actions',
      noun: 'action',
      tag: 'actions',
      itemSchema: actionSchema,
      parse: parseActionBody,
      list: (project) => listActions(projects.db(project), project),
      get: (project, name) => getAction(projects.db(project), project, name),
      create: async (project, a) => {
        await checkActionUrl(a.url, allowed);
        return createAction(projects.db(project), project, a);
      },
      update: async (project, a) => {
        await checkActionUrl(a.url, allowed);
        return updateAction(projects.db(project), project, a);
      },
      remove: (project, name) => deleteAction(projects.db(project), project, name),
    },
  );
  app.get(
    '/projects/:project/actions/:name/runs',
    {
      schema: {
        summary: 'Deliveries of an action, newest first',
        tags: ['actions'],
        params: { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } },
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: ['pending', 'sent', 'failed'] }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
        },
        response: { 200: { type: 'array', items: runSchema }, ...errorReplies(400, 404) },
      },
    },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      const q = req.query as { state?: string; limit?: number };
      // Runs of an action that was deleted since stay readable; an unknown name is a 404 only
      // when it never ran.
      const runs = await listActionRuns(projects.db(project), project, { action: name, state: q.state, limit: q.limit });
      if (runs.length === 0) await find(project, name);
      return runs;
    },
  );
}
