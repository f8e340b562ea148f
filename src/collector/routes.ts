import crypto from 'node:crypto';
import { errorReplies } from '../http/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import { HttpError } from '../http/app';
import { parseGetQuery, parseTp2Body, Tp2FormatError, type TrackerParams } from '../snowplow/tp2';
import type { SwaggerTransform } from '@fastify/swagger';
import { DefinitionsUnavailableError } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import { DEFAULT_PROJECT, PROJECT_NAME_PATTERN, PROJECT_NAME_RULE, projectTopic } from '../projects/names';
import { MAX_RECORD_BYTES, type ResilientProducer } from '../kafka/producer';
import { recordBytes } from '../kafka/produce-chunks';
import type { JsonRecord, RawRecord, SnowplowRecord } from '../batches/record';
import { checkJsonEvents, checkTrackerEvents, describeViolation, type BoundsViolation, type CollectorBounds } from './bounds';
import { eventsAccepted } from '../metrics';
import type { CollectorProjects } from './projects';
import { WRITE_KEY_PARAM, writeKeyOf } from './write-key';

export const COLLECTOR_NAME = 'beltline-0.1.0';

/** The most a stored request may take: what a Kafka record may. */
export { MAX_RECORD_BYTES };

// The 1x1 transparent GIF Snowplow's collector answers GET /i with.
const PIXEL = Buffer.from('R0lGODlhAQABAPAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

const eventTypeParam = {
  type: 'object',
  required: ['eventType'],
  properties: { eventType: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' } },
} as const;

const accepted = {
  type: 'object',
  required: ['accepted'],
  properties: { accepted: { type: 'integer', description: 'events stored in Kafka' } },
} as const;

const errorRefs = errorReplies(400, 401, 403, 404, 413, 503);

/** The tracker protocol's path, which Snowplow trackers post to (their `postPath`). */
const TP2 = '/com.snowplowanalytics.snowplow/tp2';

const projectPathParam = {
  type: 'object',
  required: ['project'],
  properties: { project: { type: 'string', pattern: PROJECT_NAME_PATTERN, description: `The project the events are for: ${PROJECT_NAME_RULE}` } },
} as const;

const writeKeyQuery = {
  [WRITE_KEY_PARAM]: {
    type: 'string',
    description: 'The project\'s write key, for trackers that cannot set the Authorization header (e.g. in the tracker\'s postPath); needed only by projects that require one',
  },
} as const;

/**
 * Write keys in the OpenAPI document: a route taking one declares the scheme, which the admin
 * API's document does not know (a per-route transform of @fastify/swagger, run on every
 * rendering; the shared options are copied, not changed).
 */
const declareWriteKey: SwaggerTransform = ({ schema, url, ...doc }) => {
  if ('openapiObject' in doc) {
    const components = (doc.openapiObject.components ??= {});
    components.securitySchemes = {
      ...components.securitySchemes,
      writeKey: { type: 'http', scheme: 'bearer', description: `A project's write key (also accepted as ?${WRITE_KEY_PARAM}=); needed only by projects that require one` },
    };
  }
  return { schema, url };
};

/** A collector route: public, or with the write key of a project that requires one. */
const WRITE_KEY_SECURITY: { [scheme: string]: string[] }[] = [{ writeKey: [] }, {}];

const NETWORK_COOKIE = 'sp';
const YEAR_S = 365 * 24 * 3600;

function requestMeta(req: FastifyRequest): Pick<SnowplowRecord, 'ipAddress' | 'userAgent' | 'hostname'> {
  return { ipAddress: req.ip, userAgent: req.headers['user-agent'], hostname: req.hostname };
}

/**
 * The network user id: the collector's own `sp` cookie, set on first sight and renewed on every
 * request, as Snowplow's collector does. A tracker in anonymous mode (header SP-Anonymous) gets none.
 */
function networkUserId(req: FastifyRequest, reply: FastifyReply, cookieDomain: string | undefined): string | undefined {
  if (req.headers['sp-anonymous'] !== undefined) return undefined;
  const existing = req.cookies[NETWORK_COOKIE];
  const id = existing && /^[0-9a-f-]{36}$/i.test(existing) ? existing : crypto.randomUUID();
  void reply.setCookie(NETWORK_COOKIE, id, {
    path: '/',
    maxAge: YEAR_S,
    httpOnly: true,
    // Cross-site trackers need SameSite=None, which browsers accept only with Secure
    // (http://localhost and 127.0.0.1 count as secure).
    sameSite: 'none',
    secure: true,
    domain: cookieDomain,
  });
  return id;
}

/** The project a tracker request is for: the one its path names, else the default project. */
function pathProject(req: FastifyRequest): string {
  return (req.params as { project?: string }).project ?? DEFAULT_PROJECT;
}

/** Routes events of one user to one partition, which keeps a user's events in order. */
function partitionKey(events: TrackerParams[]): string | undefined {
  const first = events[0];
  return first?.uid || first?.duid || first?.tnuid || undefined;
}

/** The collector's bounds from the configuration. */
export function collectorBounds(cfg: Config): CollectorBounds {
  return {
    maxEvents: cfg.BELTLINE_MAX_EVENTS_PER_REQUEST,
    maxIdChars: cfg.BELTLINE_MAX_ID_CHARS,
    maxFieldBytes: cfg.BELTLINE_MAX_FIELD_BYTES,
    maxJsonDepth: cfg.BELTLINE_MAX_JSON_DEPTH,
  };
}

/**
 * One event out of bounds refuses the whole request: a request is stored whole or not at all
 * (one Kafka record), and the tracker is told which event and field to fix.
 */
function refuse(v: BoundsViolation, list: 'data' | 'events'): HttpError {
  return new HttpError(400, 'bad_request', describeViolation(v, list), { index: v.index ?? null, field: v.field, reason: v.reason });
}

/** What the collector's routes read: the projects (and their event types) it takes events for. */
export function registerCollectorRoutes(app: FastifyInstance, cfg: Config, producer: ResilientProducer, projects: CollectorProjects): void {
  const bounds = collectorBounds(cfg);
  // One line per failed produce, not per request: every request of a batch fails with its error.
  const logged = new WeakSet<object>();
  // A project's raw topic is made on its first event (beltline's broker creates no topic on a
  // write), once per process; a failed attempt is forgotten, so the next request tries again.
  const topicsMade = new Map<string, Promise<void>>();

  function logOnce(err: unknown, message: string): void {
    if (typeof err !== 'object' || err === null || !logged.has(err)) {
      if (typeof err === 'object' && err !== null) logged.add(err);
      app.log.warn({ err }, message);
    }
  }

  async function rawTopic(project: string): Promise<string> {
    const topic = projectTopic(cfg.BELTLINE_RAW_TOPIC, project);
    // The default project's is the stack's (`stack up` makes it and grows its partitions).
    if (project === DEFAULT_PROJECT) return topic;
    let made = topicsMade.get(topic);
    if (!made) {
      made = producer.ensureTopic(topic, cfg.BELTLINE_RAW_PARTITIONS);
      topicsMade.set(topic, made);
      made.catch(() => topicsMade.delete(topic));
    }
    try {
      await made;
    } catch (err) {
      logOnce(err, `the raw topic ${topic} could not be made`);
      throw new HttpError(503, 'unavailable', 'events could not be stored (Kafka unavailable); retry later');
    }
    return topic;
  }

  async function store(project: string, record: RawRecord, key: string | undefined): Promise<void> {
    let value: Buffer;
    try {
      // Encoded once: its length is the size check, and kafkajs sends a Buffer as it is.
      value = Buffer.from(JSON.stringify(record));
    } catch {
      // JSON.parse accepts nesting that JSON.stringify then overflows the stack on.
      throw new HttpError(400, 'bad_request', 'the body is nested too deeply to store');
    }
    // Replacement characters and re-written numbers can make a record larger than its body;
    // Kafka refuses records over its message size, which must not look like an outage (503).
    const bytes = recordBytes({ key, value });
    if (bytes > MAX_RECORD_BYTES) {
      throw new HttpError(413, 'payload_too_large', `the events take ${bytes} bytes once stored, over the ${MAX_RECORD_BYTES} a record may have`);
    }
    const topic = await rawTopic(project);
    try {
      await producer.enqueue(topic, { key, value });
    } catch (err) {
      logOnce(err, 'Kafka did not acknowledge the write');
      throw new HttpError(503, 'unavailable', 'events could not be stored (Kafka unavailable); retry later');
    }
  }

  /** Parses tracker events (a format error is a 400 with its reason) and stores them as one record on the project's topic. */
  async function storeTrackerEvents(req: FastifyRequest, reply: FastifyReply, parse: () => TrackerParams[]): Promise<TrackerParams[]> {
    let events: TrackerParams[];
    try {
      events = parse();
    } catch (err) {
      if (err instanceof Tp2FormatError) throw new HttpError(400, 'bad_request', err.message);
      throw err;
    }
    const violation = checkTrackerEvents(events, bounds);
    if (violation) throw refuse(violation, 'data');
    const record: SnowplowRecord = {
      kind: 'snowplow',
      collector: COLLECTOR_NAME,
      timestamp: Date.now(),
      path: req.url.split('?')[0],
      ...requestMeta(req),
      networkUserId: networkUserId(req, reply, cfg.BELTLINE_COOKIE_DOMAIN),
      events,
    };
    await store(pathProject(req), record, partitionKey(events));
    eventsAccepted.inc({ event_type: 'snowplow' }, events.length);
    return events;
  }

  /**
   * Lets the request in for its project before its body is validated: a hostile name is a 400
   * naming the rule (not the schema's pattern), then unknown project 404, write key 401/403.
   */
  const admitPathProject = async (req: FastifyRequest): Promise<void> => {
    await projects.admit(pathProject(req), writeKeyOf(req.headers.authorization, req.query));
  };

  const tp2Schema = (summary: string, params: boolean) => ({
    summary,
    tags: ['collector'],
    security: WRITE_KEY_SECURITY,
    ...(params ? { params: projectPathParam } : {}),
    querystring: { type: 'object', properties: writeKeyQuery },
    body: { type: 'object', additionalProperties: true },
    response: { 200: accepted, ...errorRefs },
  });
  const tp2Handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const events = await storeTrackerEvents(req, reply, () => parseTp2Body(req.body));
    return { accepted: events.length };
  };
  // The same handler on every path a tracker may be pointed at: they cannot answer differently.
  const tp2Routes: [string, string][] = [
    [TP2, 'Snowplow tracker protocol 2: a payload_data batch of events, for the default project'],
    [`/api${TP2}`, 'Snowplow tracker protocol 2 under /api, for the default project (as the root path)'],
    [`/p/:project${TP2}`, "Snowplow tracker protocol 2 for a project: point the tracker's postPath here"],
    [`/p/:project/api${TP2}`, 'Snowplow tracker protocol 2 for a project, under /api'],
  ];
  for (const [url, summary] of tp2Routes) {
    app.post(url, { schema: tp2Schema(summary, url.startsWith('/p/')), config: { swaggerTransform: declareWriteKey }, preValidation: admitPathProject }, tp2Handler);
  }

  const pixelSchema = (summary: string, params: boolean) => ({
    summary,
    tags: ['collector'],
    security: WRITE_KEY_SECURITY,
    ...(params ? { params: projectPathParam } : {}),
    querystring: { type: 'object', properties: writeKeyQuery, additionalProperties: { type: 'string' } },
    response: errorRefs,
  });
  const pixelHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    // The write key is the request's, not the event's: it is not stored with the event.
    const params = { ...(req.query as Record<string, string>) };
    delete params[WRITE_KEY_PARAM];
    await storeTrackerEvents(req, reply, () => [parseGetQuery(params)]);
    return reply.header('content-type', 'image/gif').header('cache-control', 'no-cache, no-store').send(PIXEL);
  };
  app.get('/i', { schema: pixelSchema('Snowplow tracker protocol: one event in the query string (pixel), for the default project', false), config: { swaggerTransform: declareWriteKey }, preValidation: admitPathProject }, pixelHandler);
  app.get(
    '/p/:project/i',
    { schema: pixelSchema("Snowplow tracker protocol: one event in the query string (pixel), for a project: the tracker's endpoint ends in /p/{project}", true), config: { swaggerTransform: declareWriteKey }, preValidation: admitPathProject },
    pixelHandler,
  );

  app.post(
    '/api/v1/events/:eventType',
    {
      schema: {
        summary: 'Plain JSON events of an event type: one object or an array of objects',
        tags: ['collector'],
        security: WRITE_KEY_SECURITY,
        params: eventTypeParam,
        querystring: {
          type: 'object',
          properties: { project: { type: 'string', description: `The event type's project (default "${DEFAULT_PROJECT}"): ${PROJECT_NAME_RULE}` }, ...writeKeyQuery },
        },
        body: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
        response: { 200: accepted, ...errorRefs },
      },
      config: { swaggerTransform: declareWriteKey },
      preValidation: async (req) => {
        const { project } = req.query as { project?: unknown };
        if (project !== undefined && typeof project !== 'string') throw new HttpError(400, 'bad_request', `give one project: ${PROJECT_NAME_RULE}`);
        await projects.admit(project ?? DEFAULT_PROJECT, writeKeyOf(req.headers.authorization, req.query));
      },
    },
    async (req) => {
      const { eventType } = req.params as { eventType: string };
      const project = (req.query as { project?: string }).project ?? DEFAULT_PROJECT;
      let type: EventType | undefined;
      try {
        // Known types come from memory (PostgreSQL down or not); a refusal is checked against
        // PostgreSQL first, so a type created or changed a moment ago is taken.
        type = await projects.eventTypes.get(project, eventType, (t) => t.type === 'data_in');
      } catch (err) {
        if (!(err instanceof DefinitionsUnavailableError)) throw err;
        throw new HttpError(503, 'unavailable', `event type ${JSON.stringify(eventType)} cannot be looked up now (database unavailable); retry later`);
      }
      if (!type) throw new HttpError(404, 'not_found', `no event type ${JSON.stringify(eventType)} in project ${JSON.stringify(project)}: create it with POST /projects/${project}/event-types`);
      if (type.type !== 'data_in') throw new HttpError(400, 'bad_request', `event type ${eventType} is ${type.type}; events can be posted to data_in types only`);
      const events = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
      if (events.length === 0) throw new HttpError(400, 'bad_request', 'body is an empty array: send an event object or a non-empty array');
      const violation = checkJsonEvents(type, events, bounds);
      if (violation) throw refuse(violation, 'events');
      const record: JsonRecord = { kind: 'json', collector: COLLECTOR_NAME, timestamp: Date.now(), eventType, ...requestMeta(req), events };
      await store(project, record, undefined);
      eventsAccepted.inc({ event_type: eventType }, events.length);
      return { accepted: events.length };
    },
  );
}
