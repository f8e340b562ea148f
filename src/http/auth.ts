import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './app';

/** A fresh admin key, for `npm start` when BELTLINE_ADMIN_KEY is unset. */
export function generateAdminKey(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/**
 * A preHandler for admin routes: `Authorization: Bearer <key>`, compared in constant time so the
 * answer's timing tells nothing about the key.
 */
export function requireAdminKey(key: string): (req: FastifyRequest) => Promise<void> {
  const expected = crypto.createHash('sha256').update(key).digest();
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'unauthorized', 'admin routes need the header Authorization: Bearer <BELTLINE_ADMIN_KEY>');
    const given = crypto.createHash('sha256').update(m[1].trim()).digest();
    if (!crypto.timingSafeEqual(given, expected)) throw new HttpError(401, 'unauthorized', 'the admin key is not valid');
  };
}
