import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_PROJECT } from '../projects/names';
import { HttpError } from './errors';

/** A fresh admin key, for `npm start` when BELTLINE_ADMIN_KEY is unset. */
export function generateAdminKey(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/**
 * Route config of an instance route (`config: INSTANCE_ONLY`): the instance admin key alone opens
 * it, whatever project its URL names (creating, listing and deleting projects; metrics).
 */
export const INSTANCE_ONLY = { instanceOnly: true } as const;

/**
 * Route config of a route any valid key opens (`GET /whoami`): it answers about the key itself,
 * so a project's key must not need to know its project first.
 */
export const ANY_KEY = { anyKey: true } as const;

/** Whether a route's config sets one of the flags above. */
function routeFlag(config: unknown, flag: 'anyKey' | 'instanceOnly'): boolean {
  return typeof config === 'object' && config !== null && (config as Record<string, unknown>)[flag] === true;
}

/** Whose key a request carried, once `requireKey` let it through: the instance's, or a project's. */
export type KeyScope = { scope: 'instance' } | { scope: 'project'; project: string };
const scopes = new WeakMap<FastifyRequest, KeyScope>();

/** The scope of the key a request was let in with (`requireKey` ran before any handler). */
export function keyScope(req: FastifyRequest): KeyScope {
  const s = scopes.get(req);
  if (!s) throw new Error('keyScope() on a request requireKey did not admit');
  return s;
}

export function instanceOnly(config: unknown): boolean {
  return routeFlag(config, 'instanceOnly');
}

/** Who holds a project key: the registry's lookup by key. */
export interface KeyOwners {
  projectOfKey(key: string, kind: 'admin'): Promise<string | undefined>;
}

/**
 * The project a request's route is about: its `:project`, else its `?project=` (the short data
 * routes), else `default` (their default). Undefined for an instance route, which no project key opens.
 */
export function routeProject(req: FastifyRequest): string | undefined {
  if (instanceOnly(req.routeOptions.config)) return undefined;
  const inPath = (req.params as { project?: unknown } | undefined)?.project;
  if (typeof inPath === 'string') return inPath;
  const inQuery = (req.query as { project?: unknown } | undefined)?.project;
  return typeof inQuery === 'string' ? inQuery : DEFAULT_PROJECT;
}

/**
 * An onRequest hook for admin routes: `Authorization: Bearer <key>`. The instance key (compared
 * in constant time, so the answer's timing tells nothing about it) opens every route; a
 * project's admin key (looked up by its hash) opens the routes of that project only. No key is a
 * 401 (authenticate); a wrong one, or another project's, a 403 (a client that sent a key learns
 * it is refused, not that it should try again without one).
 */
export function requireKey(instanceKey: string, owners: KeyOwners): (req: FastifyRequest) => Promise<void> {
  const expected = crypto.createHash('sha256').update(instanceKey).digest();
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'unauthorized', 'this route needs the header Authorization: Bearer <key> (the instance admin key, or the project\'s admin key)');
    const key = m[1].trim();
    if (crypto.timingSafeEqual(crypto.createHash('sha256').update(key).digest(), expected)) {
      scopes.set(req, { scope: 'instance' });
      return;
    }
    const owner = await owners.projectOfKey(key, 'admin');
    if (owner === undefined) throw new HttpError(403, 'forbidden', 'the admin key is not valid');
    scopes.set(req, { scope: 'project', project: owner });
    if (routeFlag(req.routeOptions.config, 'anyKey')) return;
    const wanted = routeProject(req);
    if (wanted === undefined) throw new HttpError(403, 'forbidden', `the admin key of project ${JSON.stringify(owner)} does not open instance routes; they need the instance admin key`);
    if (wanted !== owner) throw new HttpError(403, 'forbidden', `the admin key of project ${JSON.stringify(owner)} opens only that project's routes, not ${JSON.stringify(wanted)}'s`);
  };
}
