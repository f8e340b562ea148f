import { errorReplies, type AdminRoutes } from '../http/api';
import { DefinitionError } from '../shared/errors';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { checkBelt } from './check';
import { parseBeltBody, type BeltDefinition } from './definition';
import { PythonUnconfinedError } from './python';
import { listBeltErrors } from './errors';
import { deleteBelt, getBelt, listBelts, listVersions, putBelt, setBeltRunning, type BeltHead } from './registry';
import { startRerun } from './rerun';

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
  app.get('/projects/:project/belts/:name/versions', { schema: { ...base, summary: 'Every version of a belt', params: nameParams } }, async (req) => {
    await find(params(req).project, params(req).name);
    return listVersions(projects.db(params(req).project), params(req).name);
  });
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
