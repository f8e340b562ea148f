import crypto from 'node:crypto';
import { errorReplies } from '../http/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config';
import { HttpError } from '../http/app';
import { parseGetQuery, parseTp2Body, Tp2FormatError, type TrackerParams } from '../snowplow/tp2';
import { DefinitionsUnavailableError } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import type { EventTypeCache } from '../eventtypes/store';
import { assertProject, DEFAULT_PROJECT } from '../http/projects';
import { MAX_RECORD_BYTES, type ResilientProducer } from '../kafka/producer';
import { recordBytes } from '../kafka/produce-chunks';
import type { JsonRecord, RawRecord, SnowplowRecord } from '../batches/record';
import { checkJsonEvents, checkTrackerEvents, describeViolation, type BoundsViolation, type CollectorBounds } from './bounds';
import { eventsAccepted } from '../metrics';

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

const errorRefs = errorReplies(400, 413, 503);

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

export function registerCollectorRoutes(app: FastifyInstance, cfg: Config, producer: ResilientProducer, eventTypes: EventTypeCache): void {
  const bounds = collectorBounds(cfg);
  // One line per failed produce, not per request: every request of a batch fails with its error.
  const logged = new WeakSet<object>();

  async function store(record: RawRecord, key: string | undefined): Promise<void> {
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
    try {
      await producer.enqueue(cfg.BELTLINE_RAW_TOPIC, { key, value });
    } catch (err) {
      if (typeof err !== 'object' || err === null || !logged.has(err)) {
        if (typeof err === 'object' && err !== null) logged.add(err);
        app.log.warn({ err }, 'Kafka did not acknowledge the write');
      }
      throw new HttpError(503, 'unavailable', 'events could not be stored (Kafka unavailable); retry later');
    }
  }

  /** Parses tracker events (a format error is a 400 with its reason) and stores them as one record. */
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
    await store(record, partitionKey(events));
    eventsAccepted.inc({ event_type: 'snowplow' }, events.length);
    return events;
  }

  app.post(
    '/com.snowplowanalytics.snowplow/tp2',
    {
      schema: {
        summary: 'Snowplow tracker protocol 2: a payload_data batch of events',
        tags: ['collector'],
        body: { type: 'object', additionalProperties: true },
        response: { 200: accepted, ...errorRefs },
      },
    },
    async (req, reply) => {
      const events = await storeTrackerEvents(req, reply, () => parseTp2Body(req.body));
      return { accepted: events.length };
    },
  );

  app.get(
    '/i',
    {
      schema: {
        summary: 'Snowplow tracker protocol: one event in the query string (pixel)',
        tags: ['collector'],
        querystring: { type: 'object', additionalProperties: { type: 'string' } },
        response: errorRefs,
      },
    },
    async (req, reply) => {
      await storeTrackerEvents(req, reply, () => [parseGetQuery(req.query as Record<string, string>)]);
      return reply.header('content-type', 'image/gif').header('cache-control', 'no-cache, no-store').send(PIXEL);
    },
  );

  app.post(
    '/api/v1/events/:eventType',
    {
      schema: {
        summary: 'Plain JSON events of an event type: one object or an array of objects',
        tags: ['collector'],
        params: eventTypeParam,
        querystring: { type: 'object', properties: { project: { type: 'string' } } },
        body: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
        response: { 200: accepted, ...errorRefs },
      },
    },
    async (req) => {
      const { eventType } = req.params as { eventType: string };
      const project = (req.query as { project?: string }).project ?? DEFAULT_PROJECT;
      assertProject(project);
      let type: EventType | undefined;
      try {
        // Known types come from memory (PostgreSQL down or not); a refusal is checked against
        // PostgreSQL first, so a type created or changed a moment ago is taken.
        type = await eventTypes.get(project, eventType, (t) => t.type === 'data_in');
      } catch (err) {
        if (!(err instanceof DefinitionsUnavailableError)) throw err;
        throw new HttpError(503, 'unavailable', `event type ${JSON.stringify(eventType)} cannot be looked up now (database unavailable); retry later`);
      }
      if (!type) throw new HttpError(404, 'not_found', `no event type ${JSON.stringify(eventType)}: create it with POST /projects/${project}/event-types`);
      if (type.type !== 'data_in') throw new HttpError(400, 'bad_request', `event type ${eventType} is ${type.type}; events can be posted to data_in types only`);
      const events = Array.isArray(req.body) ? (req.body as unknown[]) : [req.body];
      if (events.length === 0) throw new HttpError(400, 'bad_request', 'body is an empty array: send an event object or a non-empty array');
      const violation = checkJsonEvents(type, events, bounds);
      if (violation) throw refuse(violation, 'events');
      const record: JsonRecord = { kind: 'json', collector: COLLECTOR_NAME, timestamp: Date.now(), eventType, ...requestMeta(req), events };
      await store(record, undefined);
      eventsAccepted.inc({ event_type: eventType }, events.length);
      return { accepted: events.length };
    },
  );
}
