/**
 * Write keys at the collector: where a request carries one, and whether it opens a project.
 * Pure: the project's access comes from the caller's cache.
 */
import crypto from 'node:crypto';
import type { ProjectAccess } from '../projects/store';
import { hashKey } from '../projects/keys';

/** The query parameter a tracker that cannot set headers carries its write key in (via its postPath). */
export const WRITE_KEY_PARAM = 'wk';

/**
 * The write key a request carries: `Authorization: Bearer <key>`, else the `wk` query parameter.
 * Undefined when it carries none (an empty one counts as none).
 */
export function writeKeyOf(authorization: string | undefined, query: unknown): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (m && m[1].trim() !== '') return m[1].trim();
  if (typeof query !== 'object' || query === null || !Object.hasOwn(query, WRITE_KEY_PARAM)) return undefined;
  const v: unknown = (query as Record<string, unknown>)[WRITE_KEY_PARAM];
  // ajv's coerceTypes 'array' may make a repeated parameter an array: the first counts.
  const key = Array.isArray(v) ? v[0] : v;
  return typeof key === 'string' && key !== '' ? key : undefined;
}

/** Why a request may not write to the project: no key where one is needed, or a key that is not its own. */
export type WriteKeyRefusal = 'missing' | 'wrong';

/**
 * Whether `key` lets a request write to the project. A public project takes every request,
 * whatever key it carries (a tracker configured for another project's key still reaches a
 * public one). Hashes are compared in constant time, so the answer's timing tells nothing of the key.
 */
export function writeKeyRefusal(project: ProjectAccess, key: string | undefined): WriteKeyRefusal | undefined {
  if (!project.requireWriteKey) return undefined;
  if (key === undefined) return 'missing';
  const given = Buffer.from(hashKey(key), 'hex');
  const stored = project.writeKeyHash;
  if (!stored || stored.length !== given.length || !crypto.timingSafeEqual(given, stored)) return 'wrong';
  return undefined;
}
