import type { AdminRoutes } from '../http/api';
import { errorReplies } from '../http/api';
import { HttpError } from '../http/app';
import { ANY_KEY, INSTANCE_ONLY, keyScope } from '../http/auth';
import { projectParam, requireProject } from '../http/projects';
import type { KeyKind } from './keys';
import { DEFAULT_PROJECT, PROJECT_NAME_RULE, projectNameProblem } from './names';
import { setRequireWriteKey } from './store';

const projectSchema = {
  type: 'object',
  required: ['name', 'displayName', 'schema', 'requireWriteKey', 'hasAdminKey', 'hasWriteKey', 'createdAt'],
  properties: {
    name: { type: 'string' },
    displayName: { type: 'string' },
    schema: { type: 'string', description: "the PostgreSQL schema with the project's tables" },
    requireWriteKey: { type: 'boolean', description: "whether the collector takes this project's events only with its write key" },
    hasAdminKey: { type: 'boolean' },
    hasWriteKey: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const keysSchema = {
  adminKey: { type: 'string', description: "this project's admin routes and data reads (Authorization: Bearer …); shown this once" },
  writeKey: { type: 'string', description: "this project's collector routes, when it requires a write key; shown this once" },
} as const;

const errors = errorReplies(400, 404, 409);

/**
 * Projects (seed 001's Step 1): create one with its keys (shown once, stored hashed), list, read,
 * change its settings, rotate its keys, delete it with all its data. Creating, listing and
 * deleting take the instance admin key; a project's own admin key reads, changes and rotates it.
 */
export const projectRoutes: AdminRoutes = (app, { projects }) => {
  const tags = ['projects'];

  // The console signs in with whatever key it is given and must learn what that key opens.
  app.get(
    '/whoami',
    {
      config: ANY_KEY,
      schema: {
        tags,
        summary: 'What the key sent opens: the whole instance, or one project',
        response: {
          200: {
            type: 'object',
            required: ['scope'],
            properties: { scope: { type: 'string', enum: ['instance', 'project'] }, project: { type: 'string', description: 'the project a project key opens' } },
          },
        },
      },
    },
    async (req) => keyScope(req),
  );

  app.post(
    '/projects',
    {
      config: INSTANCE_ONLY,
      schema: {
        tags,
        summary: 'Create a project: its schema, topics and keys',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', description: PROJECT_NAME_RULE },
            displayName: { type: 'string', maxLength: 200 },
            requireWriteKey: { type: 'boolean', default: false },
          },
        },
        response: { 201: { type: 'object', properties: { ...projectSchema.properties, ...keysSchema } }, ...errors },
      },
    },
    async (req, reply) => {
      const body = req.body as { name: string; displayName?: string; requireWriteKey: boolean };
      // Checked here rather than by a schema pattern, so that the 400 states the rule in words.
      const problem = projectNameProblem(body.name);
      if (problem) throw new HttpError(400, 'bad_request', `invalid project name ${JSON.stringify(body.name)}: ${problem}`, { field: 'name' });
      const made = await projects.create({ name: body.name, displayName: body.displayName ?? body.name, requireWriteKey: body.requireWriteKey });
      if (!made) throw new HttpError(409, 'conflict', `project ${JSON.stringify(body.name)} exists already`, { field: 'name' });
      return reply.status(201).send({ ...made.project, ...made.keys });
    },
  );

  app.get(
    '/projects',
    { config: INSTANCE_ONLY, schema: { tags, summary: 'List the projects', response: { 200: { type: 'array', items: projectSchema } } } },
    async () => projects.list(),
  );

  app.get('/projects/:project', { schema: { tags, summary: 'One project', params: projectParam, response: { 200: projectSchema, ...errors } } }, async (req) => {
    const { project } = req.params as { project: string };
    const found = await projects.get(project);
    if (!found) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)}`);
    return found;
  });

  app.patch(
    '/projects/:project',
    {
      schema: {
        tags,
        summary: "Change a project's settings",
        params: projectParam,
        body: { type: 'object', additionalProperties: false, properties: { requireWriteKey: { type: 'boolean' } } },
        response: { 200: projectSchema, ...errors },
      },
    },
    async (req) => {
      const { project } = req.params as { project: string };
      const { requireWriteKey } = req.body as { requireWriteKey?: boolean };
      await requireProject(projects, project);
      if (requireWriteKey !== undefined) await setRequireWriteKey(projects.instance, project, requireWriteKey);
      return projects.get(project);
    },
  );

  app.post(
    '/projects/:project/keys',
    {
      schema: {
        tags,
        summary: "Rotate a project's keys: new ones are shown once, the old ones stop working at once",
        params: projectParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { keys: { type: 'array', items: { type: 'string', enum: ['admin', 'write'] }, minItems: 1, uniqueItems: true, default: ['admin', 'write'] } },
        },
        response: { 200: { type: 'object', properties: keysSchema }, ...errors },
      },
    },
    async (req) => {
      const { project } = req.params as { project: string };
      const { keys } = (req.body ?? { keys: ['admin', 'write'] }) as { keys?: KeyKind[] };
      const issued = await projects.rotate(project, keys ?? ['admin', 'write']);
      if (!issued) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)}`);
      return issued;
    },
  );

  app.delete(
    '/projects/:project',
    {
      config: INSTANCE_ONLY,
      schema: { tags, summary: 'Delete a project: its belt workers stop, its schema and every table in it are dropped', params: projectParam, response: { 204: { type: 'null' }, ...errors } },
    },
    async (req, reply) => {
      const { project } = req.params as { project: string };
      if (project === DEFAULT_PROJECT) throw new HttpError(400, 'bad_request', 'the default project cannot be deleted', { field: 'project' });
      if (!(await projects.drop(project))) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)}`);
      return reply.status(204).send();
    },
  );
};
