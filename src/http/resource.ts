import type { FastifyInstance } from 'fastify';
import { errorReplies } from './api';
import { DefinitionError } from '../shared/errors';
import { HttpError } from './app';
import { projectParam, requireProject, type ProjectLookup } from './projects';

/** The store and validation behind one kind of admin resource (event types, harvesters, …). */
export interface Resource<T extends { name: string }> {
  /** URL segment, e.g. `event-types`. */
  path: string;
  /** Singular, for messages. */
  noun: string;
  tag: string;
  itemSchema: Record<string, unknown>;
  /** Validates a body; throws DefinitionError naming the field. */
  parse(body: unknown, fixedName?: string): T;
  list(project: string): Promise<T[]>;
  get(project: string, name: string): Promise<T | undefined>;
  create(project: string, item: T): Promise<boolean>;
  update(project: string, item: T): Promise<boolean>;
  remove(project: string, name: string): Promise<boolean>;
  /** Names that cannot be changed or deleted. */
  builtIn?: ReadonlySet<string>;
}

function asHttpError(err: unknown): unknown {
  if (err instanceof DefinitionError) return new HttpError(err.status, err.status === 409 ? 'conflict' : 'bad_request', err.message, { field: err.field, ...err.details });
  return err;
}

function parseOr400<T extends { name: string }>(r: Resource<T>, body: unknown, fixedName?: string): T {
  try {
    return r.parse(body, fixedName);
  } catch (err) {
    throw asHttpError(err);
  }
}

/** Storing can find what parsing cannot (e.g. a schema change the stored rows forbid). */
async function store(fn: () => Promise<boolean>): Promise<boolean> {
  try {
    return await fn();
  } catch (err) {
    throw asHttpError(err);
  }
}

/**
 * `POST/GET /projects/:project/<path>` and `GET/PUT/DELETE /projects/:project/<path>/:name`,
 * behind the admin key, with the shared error shape. Returns a lookup routes of the resource's
 * own (start, stop, …) can use.
 */
export function registerResourceRoutes<T extends { name: string }>(
  app: FastifyInstance,
  projects: ProjectLookup,
  r: Resource<T>,
  onChange: () => void = () => undefined,
): (project: string, name: string) => Promise<T> {
  const base = { tags: [r.tag] };
  const errors = errorReplies(400, 404, 409);
  const body = { type: 'object', additionalProperties: true } as const;
  const nameParams = { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } };
  const item = r.itemSchema;
  const find = async (project: string, name: string): Promise<T> => {
    await requireProject(projects, project);
    const found = await r.get(project, name);
    if (!found) throw new HttpError(404, 'not_found', `no ${r.noun} ${JSON.stringify(name)}`);
    return found;
  };
  const notBuiltIn = (name: string): void => {
    if (r.builtIn?.has(name)) throw new HttpError(400, 'bad_request', `${r.noun} ${name} is built in and cannot be changed or deleted`);
  };

  app.post(`/projects/:project/${r.path}`, { schema: { ...base, summary: `Create a ${r.noun}`, params: projectParam, body, response: { 201: item, ...errors } } }, async (req, reply) => {
    const { project } = req.params as { project: string };
    await requireProject(projects, project);
    const parsed = parseOr400(r, req.body);
    if (!(await store(() => r.create(project, parsed)))) throw new HttpError(409, 'conflict', `${r.noun} ${JSON.stringify(parsed.name)} exists already; PUT to change it`);
    onChange();
    return reply.status(201).send(parsed);
  });
  app.get(`/projects/:project/${r.path}`, { schema: { ...base, summary: `List ${r.noun}s`, params: projectParam, response: { 200: { type: 'array', items: item }, ...errors } } }, async (req) => {
    const { project } = req.params as { project: string };
    await requireProject(projects, project);
    return r.list(project);
  });
  app.get(`/projects/:project/${r.path}/:name`, { schema: { ...base, summary: `One ${r.noun}`, params: nameParams, response: { 200: item, ...errors } } }, async (req) => {
    const { project, name } = req.params as { project: string; name: string };
    return find(project, name);
  });
  app.put(`/projects/:project/${r.path}/:name`, { schema: { ...base, summary: `Replace a ${r.noun}`, params: nameParams, body, response: { 200: item, ...errors } } }, async (req) => {
    const { project, name } = req.params as { project: string; name: string };
    await requireProject(projects, project);
    notBuiltIn(name);
    const parsed = parseOr400(r, req.body, name);
    if (!(await store(() => r.update(project, parsed)))) throw new HttpError(404, 'not_found', `no ${r.noun} ${JSON.stringify(name)}`);
    onChange();
    return parsed;
  });
  app.delete(`/projects/:project/${r.path}/:name`, { schema: { ...base, summary: `Delete a ${r.noun}`, params: nameParams, response: { 204: { type: 'null' }, ...errors } } }, async (req, reply) => {
    const { project, name } = req.params as { project: string; name: string };
    await requireProject(projects, project);
    notBuiltIn(name);
    if (!(await r.remove(project, name))) throw new HttpError(404, 'not_found', `no ${r.noun} ${JSON.stringify(name)}`);
    onChange();
    return reply.status(204).send();
  });
  return find;
}
