import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../http/app';

/** Where `npm run build` puts the bundled console (scripts/build-console.ts). */
export const CONSOLE_DIR = path.resolve(__dirname, '../../console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The page may talk to this server alone. ajv compiles schemas into functions (the schema
 * editor validates in the page), hence 'unsafe-eval'; CodeMirror injects its styles at run time,
 * hence the inline styles.
 */
const CSP = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Serves the console at /console/: static files, read once at start-up. It calls the public REST
 * API with the key signed in with; the files themselves hold nothing secret, so they need none.
 */
export function registerConsole(app: FastifyInstance, dir = CONSOLE_DIR): void {
  const files = new Map<string, Buffer>();
  if (fs.existsSync(dir)) {
    for (const name of fs.readdirSync(dir)) files.set(name, fs.readFileSync(path.join(dir, name)));
  }
  const hide = { schema: { hide: true } };
  app.get('/console', hide, async (_req, reply) => reply.redirect('/console/', 301));
  app.get<{ Params: { file?: string } }>('/console/:file', hide, async (req, reply) => {
    const name = req.params.file || 'index.html';
    const body = files.get(name);
    if (!body) {
      if (files.size === 0) throw new HttpError(503, 'unavailable', 'the console is not built: run `npm run build` (npm start builds it)');
      throw new HttpError(404, 'not_found', `no console file ${JSON.stringify(name)}`);
    }
    return reply
      .header('content-type', TYPES[path.extname(name)] ?? 'application/octet-stream')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=300')
      .send(body);
  });
}
