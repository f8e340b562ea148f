import crypto from 'node:crypto';
import fastify, {
  LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import { rootLogger } from '../log';

import { errorSchema, HttpError } from './errors';

// Kept apart so that modules that only throw HttpError (auth, metrics) do not load fastify.
export { errorSchema, HttpError } from './errors';

function codeFor(status: number): string {
  if (status === 400) return 'bad_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 503) return 'unavailable';
  return status >= 500 ? 'internal_error' : 'error';
}

/**
 * The collector's routes (and their project-prefixed forms), which browser trackers call cross-origin. Only these answer CORS: the
 * profile, admin and micro routes hold personal data and are called by servers, so a browser on
 * another origin gets no CORS headers from them (and no preflight).
 */
const CROSS_ORIGIN_PATH = /^\/(?:(?:p\/[^/?]+\/)?(?:(?:api\/)?com\.snowplowanalytics\.snowplow\/tp2|i)|api\/v1\/events\/[^/?]+)\/?(?:\?|$)/;

/** How much past the body limit a refused request body may be read and dropped, rather than cut off. */
const DRAIN_FACTOR = 4;

/** Whether a refused body of this declared length is read to its end (see the error handler). Pure. */
export function drainable(contentLength: string | undefined, bodyLimit: number): boolean {
  const n = Number(contentLength);
  return contentLength !== undefined && Number.isSafeInteger(n) && n <= bodyLimit * DRAIN_FACTOR;
}

export async function createApp(opts: { bodyLimit: number; trustedProxies?: string[] }): Promise<FastifyInstance> {
  const app = fastify({
    loggerInstance: rootLogger.child({ component: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit,
    // X-Forwarded-For is believed only from the proxies named; otherwise the peer address counts.
    trustProxy: opts.trustedProxies && opts.trustedProxies.length > 0 ? opts.trustedProxies : false,
    // Requests that are not valid HTTP never reach a route: answer without a body and close the
    // connection, so a keep-alive client does not send its next request into a dead socket.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    },
    // A collector's per-request lines would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  });
  app.addSchema(errorSchema);
  // Browser trackers post cross-origin with credentials (the `sp` cookie): reflect the origin, on
  // the collector's routes alone. Decided by path, not by route, so that preflights (answered by
  // the plugin's OPTIONS route) get the same decision as the request they announce.
  await app.register(cors, {
    delegator: (req, cb) => cb(null, CROSS_ORIGIN_PATH.test(req.url ?? '') ? { origin: true, credentials: true, maxAge: 86400 } : { origin: false }),
  });
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      info: { title: 'beltline', version: '0.1.0', description: 'Collector, admin and data API of beltline' },
      components: {
        securitySchemes: {
          adminKey: { type: 'http', scheme: 'bearer', description: 'The instance admin key (BELTLINE_ADMIN_KEY): every route.' },
          projectAdminKey: { type: 'http', scheme: 'bearer', description: 'A project\'s admin key (from POST /projects or key rotation): that project\'s routes and data reads only.' },
        },
      },
    },
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    // Raised on purpose (a 503 while Kafka is away, a 400 naming a field): the message is for the caller.
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send({ error: err.code, message: err.message, details: err.details });
    }
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      // An unexpected failure's message can carry internals (SQL, hosts, paths, parts of the
      // data): the caller gets an id to quote, the log gets the error under that id.
      const errorId = crypto.randomUUID();
      app.log.error({ err, errorId, method: req.method, url: req.url }, 'request failed');
      return reply.status(status).send({ error: codeFor(status), message: `internal error; the server's log has the details under errorId ${errorId}`, details: { errorId } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && drainable(req.headers['content-length'], opts.bodyLimit)) {
      // fastify closes the connection after refusing a body too large, while the client may still
      // be sending it: the unread bytes make the kernel reset the connection, and a client can
      // lose the 413 to an EPIPE (the collector fuzz test saw it). A body of a declared, modest
      // size is read to its end and dropped instead (Node does so for an unread request), so the
      // answer arrives and the connection stays usable; a larger or undeclared one is cut off.
      reply.removeHeader('connection');
    }
    const details = err.validation ? err.validation.map((v) => ({ path: v.instancePath, message: v.message })) : undefined;
    return reply.status(status).send({ error: codeFor(status), message: err.message, details });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` });
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/health',
    { schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }),
  );
  return app;
}
