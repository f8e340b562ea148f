import type { Client } from '@temporalio/client';
import type { FastifyInstance, RouteOptions } from 'fastify';
import type { Pool } from 'pg';
import type { AllowedHosts } from '../actions/targets';
import type { Config } from '../config';
import type { SchemaRegistry } from '../schemas/registry';
import { requireAdminKey } from './auth';

/** What the admin API's routes are built on: one object, whatever the domain. */
export interface ApiDeps {
  pool: Pool;
  cfg: Config;
  adminKey: string;
  schemas: SchemaRegistry;
  /** Connected on first use: the API answers before Temporal is reachable. */
  temporal: () => Promise<Client>;
  /** Compiles a Python belt in the sandboxed pool, so a definition that cannot run is a 400. */
  pythonCheck: (source: string, filename: string) => Promise<void>;
  actionHosts: AllowedHosts;
}

/** A domain's admin routes; every `routes.ts` exports one, and only the API scope registers them. */
export type AdminRoutes = (app: FastifyInstance, deps: ApiDeps) => void;

/** The shared error shape as the response of each status code given. */
export function errorReplies(...codes: number[]): Record<number, { $ref: 'Error#' }> {
  return Object.fromEntries(codes.map((c) => [c, { $ref: 'Error#' as const }]));
}

const AUTH = errorReplies(401, 403);

/**
 * The admin API: one encapsulated scope whose every route takes the admin key (no key 401, a
 * wrong one 403), says so in the OpenAPI document, and declares those two answers. Domains add
 * routes to it and never decide auth themselves; the public collector routes live outside it.
 */
export async function registerAdminApi(app: FastifyInstance, deps: ApiDeps, domains: readonly AdminRoutes[]): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRoute', (route: RouteOptions) => {
      // Mutated in place: @fastify/swagger keeps this same object and reads it when asked.
      const schema = (route.schema ??= {}) as { security?: unknown; response?: Record<string, unknown> };
      schema.security ??= [{ adminKey: [] }];
      schema.response = { ...AUTH, ...schema.response };
    });
    scope.addHook('onRequest', requireAdminKey(deps.adminKey));
    for (const register of domains) register(scope, deps);
  });
}
