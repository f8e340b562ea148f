import { errorReplies, type AdminRoutes } from '../http/api';
import { DefinitionError } from '../shared/errors';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { checkBelt } from './check';
import { parseBeltBody, type BeltDefinition } from './definition';
import { PythonUnconfinedError } from './python';
import { listBeltErrors } from './errors';
import { deleteBelt, getBelt, getVersion, listBelts, listVersions, putBelt, setBeltRunning, type BeltHead } from './registry';
import { startRerun } from './rerun';
import { pastedEvent, storedEvent, tryBelt } from './try';
import { listEventTypes } from '../eventtypes/store';
import { getDocuments } from '../profiles/store';
import type { JsonObject } from '../profiles/semantics';
import type { BeltEvent } from './runner';

const headSchema = {
  type: 'object',
  required: ['name', 'version', 'number', 'running', 'source', 'definition'],
  properties: {
    name: { type: 'string' },
    version: { type: 'string', description: 'hash of the definition' },
    number: { type: 'integer', description: '1, 2, 3… per change' },
    running: { type: 'boolean' },
    source: { type: 'string', enum: ['api', 'folder'] },
    definition: {
      type: 'object',
      properties: {
        name: { type: 'string' },
        beltType: { type: 'string', enum: ['js-callback', 'python-callback'] },
        eventTypes: { type: 'array', items: { type: 'string' } },
        outputTypes: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } } },
        extractorFn: { type: 'string' },
        scale: { type: 'integer' },
      },
    },
  },
};

const trySchema = {
  body: {
    type: 'object',
    required: ['definition', 'event'],
    properties: {
      definition: { type: 'object', description: 'a belt definition, as for create; nothing is stored' },
      event: {
        type: 'object',
        description: 'a stored event ({eventId}, with its eventType when known) or a pasted one ({payload}, perhaps {headers})',
        properties: {
          eventType: { type: 'string' },
          eventId: { type: 'string' },
          headers: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'number' }] } },
          payload: {},
        },
      },
      profile: { type: ['object', 'null'], description: "the profile the belt sees; default: the stored profile of the event's correlation id (read, never written)" },
    },
  },
  response: {
    type: 'object',
    required: ['eventId', 'correlationId', 'profile', 'outputs', 'updates', 'direct', 'actions', 'logs', 'durationMs'],
    properties: {
      eventId: { type: 'string' },
      correlationId: { type: 'string' },
      profile: { type: ['object', 'null'], additionalProperties: true, description: 'what the belt saw as its profile' },
      outputs: { type: 'array', description: 'what the belt returned' },
      updates: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'profile updates it would apply' },
      direct: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'live segment rows it would write' },
      actions: { type: 'array', items: { type: 'object', additionalProperties: true }, description: 'actions it would ask for' },
      logs: { type: 'array', items: { type: 'string' } },
      durationMs: { type: 'number' },
    },
  },
};

const nameParams = { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } };
const errors = errorReplies(400, 404, 409);

/** Belts (seed 001's body): versioned definitions, start/stop, errors, retry and backfill. */
export const beltRoutes: AdminRoutes = (app, deps) => {
  const { projects } = deps;
  const base = { tags: ['belts'] };

  async function validated(project: string, body: unknown, fixedName?: string): Promise<BeltDefinition> {
    try {
      const def = parseBeltBody(body, fixedName);
      await checkBelt(projects.db(project), project, def, deps.pythonCheck);
      return def;
    } catch (err) {
      if (err instanceof DefinitionError) throw new HttpError(400, 'bad_request', err.message, { field: err.field });
      // Python belts cannot be checked (or run) on this host: say why, not "internal error".
      if (err instanceof PythonUnconfinedError) throw new HttpError(503, 'unavailable', err.message);
      throw err;
    }
  }
  async function find(project: string, name: string): Promise<BeltHead> {
    await requireProject(projects, project);
    const head = await getBelt(projects.db(project), name);
    if (!head) throw new HttpError(404, 'not_found', `no belt ${JSON.stringify(name)}`);
    return head;
  }
  const params = (req: { params: unknown }) => req.params as { project: string; name: string };

  app.post('/projects/:project/belts', { schema: { ...base, summary: 'Create a belt', params: projectParam, body: { type: 'object' }, response: { 201: headSchema, ...errors } } }, async (req, reply) => {
    const { project } = params(req);
    await requireProject(projects, project);
    const def = await validated(project, req.body);
    if (await getBelt(projects.db(project), def.name)) throw new HttpError(409, 'conflict', `belt ${JSON.stringify(def.name)} exists already; PUT to make a new version`);
    return reply.status(201).send(await putBelt(projects.db(project), def, 'api'));
  });
  app.get('/projects/:project/belts', { schema: { ...base, summary: 'List belts (their current versions)', params: projectParam, response: { 200: { type: 'array', items: headSchema }, ...errors } } }, async (req) => {
    const { project } = params(req);
    await requireProject(projects, project);
    return listBelts(projects.db(project));
  });
  app.get('/projects/:project/belts/:name', { schema: { ...base, summary: 'A belt\'s current version', params: nameParams, response: { 200: headSchema, ...errors } } }, async (req) =>
    find(params(req).project, params(req).name),
  );
  app.put('/projects/:project/belts/:name', { schema: { ...base, summary: 'A new version of a belt; running batches keep theirs', params: nameParams, body: { type: 'object' }, response: { 200: headSchema, ...errors } } }, async (req) => {
    const { project, name } = params(req);
    await find(project, name);
    return putBelt(projects.db(project), await validated(project, req.body, name), 'api');
  });
  app.delete('/projects/:project/belts/:name', { schema: { ...base, summary: 'Delete a belt (no new batches; its results stay)', params: nameParams, response: { 204: { type: 'null' }, ...errors } } }, async (req, reply) => {
    await find(params(req).project, params(req).name);
    await deleteBelt(projects.db(params(req).project), params(req).name);
    return reply.status(204).send();
  });
  for (const action of ['start', 'stop'] as const) {
    app.post(`/projects/:project/belts/:name/${action}`, { schema: { ...base, summary: `${action} a belt`, params: nameParams, response: { 200: headSchema, ...errors } } }, async (req) => {
      await find(params(req).project, params(req).name);
      await setBeltRunning(projects.db(params(req).project), params(req).name, action === 'start');
      return find(params(req).project, params(req).name);
    });
  }
  app.post(
    '/projects/:project/belts/try',
    {
      schema: {
        ...base,
        summary: 'Run a belt definition on one event, applying nothing',
        description:
          "The production sandbox and limits run the definition (stored or not) on a stored or pasted event with the event's profile; " +
          'the answer is what the pipeline would keep, and nothing is written. A belt that fails on the event is a 400 `belt_failed` whose details hold its kind, logs and outputs.',
        params: projectParam,
        body: trySchema.body,
        response: { 200: trySchema.response, ...errors, ...errorReplies(503) },
      },
    },
    async (req) => {
      const { project } = params(req);
      await requireProject(projects, project);
      const body = req.body as { definition: unknown; event: { eventType?: string; eventId?: string; headers?: Record<string, string | number>; payload?: unknown }; profile?: JsonObject | null };
      const def = await validated(project, body.definition);
      const db = projects.db(project);
      let event: BeltEvent | undefined;
      if (body.event.eventId !== undefined) {
        const { eventType, eventId } = body.event;
        if (eventType !== undefined && !def.eventTypes.includes(eventType)) {
          throw new HttpError(400, 'bad_request', `${eventType} is not an input type of this belt`, { field: 'event.eventType' });
        }
        event = await storedEvent(db, eventType !== undefined ? [eventType] : def.eventTypes, eventId);
        if (!event) throw new HttpError(404, 'not_found', `no stored event ${JSON.stringify(eventId)} of ${eventType ?? def.eventTypes.join(', ')}`);
      } else if ('payload' in body.event) {
        event = pastedEvent(def, { headers: body.event.headers, payload: body.event.payload }, Date.now());
      } else {
        throw new HttpError(400, 'bad_request', 'event: give a stored event ({eventType, eventId}) or a pasted one ({payload})', { field: 'event' });
      }
      const profile = body.profile !== undefined ? body.profile : ((await getDocuments(db, [event.correlationId])).get(event.correlationId) ?? null);
      const types = new Map((await listEventTypes(db, project)).map((t) => [t.name, t]));
      const { outcome, outputs, logs, durationMs } = await tryBelt(deps.beltTrials, def, event, profile, (name) => types.get(name)?.type === 'live_segment').catch((err: unknown) => {
        if (err instanceof PythonUnconfinedError) throw new HttpError(503, 'unavailable', err.message);
        throw err;
      });
      if (outcome.error) {
        const { kind, message, stack } = outcome.error;
        throw new HttpError(400, 'belt_failed', message, { kind, ...(stack ? { stack } : {}), logs, outputs, eventId: event.eventId, durationMs });
      }
      return { eventId: event.eventId, correlationId: event.correlationId, profile, outputs, updates: outcome.updates, direct: outcome.direct, actions: outcome.actions, logs, durationMs };
    },
  );
  app.get('/projects/:project/belts/:name/versions', { schema: { ...base, summary: 'Every version of a belt', params: nameParams } }, async (req) => {
    await find(params(req).project, params(req).name);
    return listVersions(projects.db(params(req).project), params(req).name);
  });
  app.get(
    '/projects/:project/belts/:name/versions/:version',
    {
      schema: {
        ...base,
        summary: 'One version of a belt, with its definition',
        params: { ...nameParams, required: [...nameParams.required, 'version'], properties: { ...nameParams.properties, version: { type: 'string' } } },
        response: {
          200: { type: 'object', required: ['version', 'number', 'createdAt', 'definition'], properties: { version: { type: 'string' }, number: { type: 'integer' }, createdAt: { type: 'string', format: 'date-time' }, definition: headSchema.properties.definition } },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project, name, version } = req.params as { project: string; name: string; version: string };
      await find(project, name);
      const found = await getVersion(projects.db(project), name, version);
      if (!found) throw new HttpError(404, 'not_found', `belt ${JSON.stringify(name)} has no version ${JSON.stringify(version)}`);
      return found;
    },
  );
  app.get(
    '/projects/:project/belts/:name/errors',
    {
      schema: {
        ...base,
        summary: 'Events the belt failed on, newest first',
        params: nameParams,
        querystring: { type: 'object', properties: { since: { type: 'string', format: 'date-time' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
      },
    },
    async (req) => {
      await find(params(req).project, params(req).name);
      return listBeltErrors(projects.db(params(req).project), params(req).name, req.query as { since?: string; limit: number });
    },
  );
  for (const mode of ['retry', 'backfill'] as const) {
    app.post(
      `/projects/:project/belts/:name/${mode}`,
      {
        schema: {
          ...base,
          summary: mode === 'retry' ? 'Run the current version again on the events the belt failed on' : 'Run the current version over stored events of its input types',
          params: nameParams,
          body: { type: 'object', properties: { since: { type: 'string', format: 'date-time' } } },
          response: { 202: { type: 'object', properties: { workflowId: { type: 'string' } } }, ...errors },
        },
      },
      async (req, reply) => {
        await find(params(req).project, params(req).name);
        const { since } = (req.body ?? {}) as { since?: string };
        const workflowId = await startRerun(await deps.temporal(), deps.cfg.BELTLINE_TASK_QUEUE, { belt: params(req).name, mode, since, project: params(req).project });
        return reply.status(202).send({ workflowId });
      },
    );
  }
}
