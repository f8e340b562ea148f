import type { Client } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Pool } from 'pg';
import type { AllowedHosts } from '../actions/targets';
import type { BeltTrialRunner } from '../belts/try';
import type { Config } from '../config';
import type { SchemaRegistry } from '../schemas/registry';
import type { Projects } from '../projects/service';
import { instanceOnly, requireKey } from './auth';
import { DEFAULT_PROJECT } from '../projects/names';
import { projectParam, requireProject } from './projects';

/** What the admin API's routes are built on: one object, whatever the domain. */
export interface ApiDeps {
  /** The instance's pool (the registry; the default project's tables). A project's: `projects.db(p)`. */
  pool: Pool;
  projects: Projects;
  cfg: Config;
  /** The instance admin key: every route of every project, and the instance's own routes. */
  adminKey: string;
  /** The project's schema registry. */
  schemas: (project: string) => SchemaRegistry;
  /** Connected on first use: the API answers before Temporal is reachable. */
  temporal: () => Promise<Client>;
  /** Compiles a Python belt in the sandboxed pool, so a definition that cannot run is a 400. */
  pythonCheck: (source: string, filename: string) => Promise<void>;
  /** Runs a belt definition on one event in the production sandbox and limits, writing nothing ("try it"). */
  beltTrials: BeltTrialRunner;
  actionHosts: AllowedHosts;
}

/** A domain's admin routes; every `routes.ts` exports one, and only the API scope registers them. */
export type AdminRoutes = (app: FastifyInstance, deps: ApiDeps) => void;

/** The shared error shape as the response of each status code given. */
export function errorReplies(...codes: number[]): Record<number, { $ref: 'Error#' }> {
  return Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' as const }]));
}

const AUTH = errorReplies(401, 403);

/** A JSON schema of an object whose properties are all named (path parameters, query strings). */
export interface ObjectSchema {
  type: 'object';
  required?: readonly string[];
  properties: Record<string, unknown>;
}

/** A read of a project's data: `GET /projects/:project<path>`, and perhaps its old URL too. */
export interface ProjectGet<P, Q> {
  /** After `/projects/:project`, e.g. `/profiles/:id`. */
  path: string;
  /**
   * The route's URL from before every admin route lived under `/projects/:project/...`, still
   * answered because users and the seed documents call it: the same handler, for the project its
   * `?project=` names (`default` when absent), marked deprecated in the OpenAPI document.
   */
  alias?: string;
  summary: string;
  tags: string[];
  /** The path's own parameters; `project` is added. */
  params?: ObjectSchema;
  querystring?: ObjectSchema;
  /** 200 and the route's own errors; an unknown project's 404 is added. */
  response: Record<number, unknown>;
  /** Called once the project is known to exist, with the pool of its schema. */
  handler: (project: string, params: P, query: Q, db: Pool) => Promise<unknown>;
}

/** `{name}` for `:name`: how the OpenAPI document, and so a reader of it, spells a path. */
const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * Registers a project read on the one URL scheme and, when it has one, on its deprecated alias:
 * one handler for both, so the two cannot answer differently.
 */
export function registerProjectGet<P, Q>(app: FastifyInstance, projects: Projects, route: ProjectGet<P, Q>): void {
  const path = `/projects/:project${route.path}`;
  const response = { ...errorReplies(404), ...route.response };
  // The project is in the path, or, on the alias, in the query (where the schema defaults it).
  const handler = async (req: FastifyRequest): Promise<unknown> => {
    const { project: inPath, ...params } = req.params as P & { project?: string };
    const { project: inQuery, ...query } = req.query as Q & { project?: string };
    const project = inPath ?? inQuery ?? DEFAULT_PROJECT;
    await requireProject(projects, project);
    return route.handler(project, params as P, query as Q, projects.db(project));
  };
  const own = route.params ?? { type: 'object' as const, properties: {} };
  const params = { ...own, required: ['project', ...(own.required ?? [])], properties: { ...projectParam.properties, ...own.properties } };
  const querystring = route.querystring ? { querystring: route.querystring } : {};
  app.get(path, { schema: { summary: route.summary, tags: route.tags, params, ...querystring, response } }, handler);
  if (!route.alias) return;
  const query = route.querystring ?? { type: 'object' as const, properties: {} };
  app.get(
    route.alias,
    {
      schema: {
        summary: `${route.summary} (deprecated: use GET ${openApiPath(path)})`,
        description: `The URL of before every admin route lived under /projects/{project}/…; it answers for the project ?project= names, default "${DEFAULT_PROJECT}".`,
        deprecated: true,
        tags: route.tags,
        ...(route.params ? { params: route.params } : {}),
        querystring: { ...query, properties: { ...query.properties, project: { type: 'string', default: DEFAULT_PROJECT } } },
        response,
      },
    },
    handler,
  );
}

/**
 * The admin API: one encapsulated scope whose every route takes a key (no key 401, a wrong one
 * 403), says so in the OpenAPI document, and declares those two answers. The instance admin key
 * opens every route; a project's admin key only the routes of its project (see `requireKey`).
 * Domains add routes to it and never decide auth themselves; the public collector routes live
 * outside it.
 */
export async function registerAdminApi(app: FastifyInstance, deps: ApiDeps, domains: readonly AdminRoutes[]): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route: RouteOptions) => {
      // Mutated in place: @fastify/swagger keeps this same object and reads it when asked.
      const schema = (route.schema ??= {}) as { security?: unknown; response?: Record<string, unknown> };
      schema.security ??= instanceOnly(route.config) ? [{ adminKey: [] }] : [{ adminKey: [] }, { projectAdminKey: [] }];
      schema.response = { ...AUTH, ...schema.response };
    });
    scope.addHook('onRequest', requireKey(deps.adminKey, deps.projects));
    for (const register of domains) register(scope, deps);
  });
}
