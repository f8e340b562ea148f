import crypto from 'node:crypto';

/** The two keys a project has: its admin routes and data reads, and (optionally) its collectors. */
export type KeyKind = 'admin' | 'write';

/** A fresh key: 32 random bytes, prefixed by its kind so a leaked one says what it opens. */
export function generateKey(kind: KeyKind): string {
  return `bl${kind === 'admin' ? 'a' : 'w'}_${crypto.randomBytes(32).toString('base64url')}`;
}

/**
 * How a key is stored: SHA-256, hex. The keys are 256 random bits, so a fast hash is enough (no
 * dictionary to try), and lookups by hash stay one index probe.
 */
export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}
