import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './app';

/** A fresh admin key, for `npm start` when BELTLINE_ADMIN_KEY is unset. */
export function generateAdminKey(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/**
 * A preHandler for admin routes: `Authorization: Bearer <key>`, compared in constant time so the
 * answer's timing tells nothing about the key. No key is a 401 (authenticate), a wrong one a 403
 * (a client that sent a key learns it is refused, not that it should try again without one).
 */
export function requireAdminKey(key: string): (req: FastifyRequest) => Promise<void> {
  const expected = crypto.createHash('sha256').update(key).digest();
  return async (req) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'unauthorized', 'this route needs the header Authorization: Bearer <BELTLINE_ADMIN_KEY>');
    const given = crypto.createHash('sha256').update(m[1].trim()).digest();
    if (!crypto.timingSafeEqual(given, expected)) throw new HttpError(403, 'forbidden', 'the admin key is not valid');
  };
}
