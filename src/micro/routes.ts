import type { FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import type { AdminRoutes } from '../http/api';
import { requireProject } from '../http/projects';
import { DEFAULT_PROJECT, PROJECT_NAME_PATTERN } from '../projects/names';
import { SNOWPLOW_EVENT_TYPE } from '../events/expand';

/**
 * Snowplow Micro's inspection API, for checking a tracker integration in development: what
 * arrived since the last reset, good and bad. Only mounted when BELTLINE_MICRO is on. Every route
 * takes the admin key: the reads show whole events (personal data), and a reset hides them from
 * whoever is checking.
 */
export const microRoutes: AdminRoutes = (app, { projects }) => {
  const tags = ['micro'];
  const since = 'SELECT reset_at FROM micro_state';
  // Micro looks at one project: `?project=`, the default one when absent (what trackers hit by default).
  const project = { type: 'string', pattern: PROJECT_NAME_PATTERN, default: DEFAULT_PROJECT } as const;
  const dbOf = async (req: FastifyRequest): Promise<Pool> => {
    const { project: name } = req.query as { project: string };
    await requireProject(projects, name);
    return projects.db(name);
  };

  app.get(
    '/micro/all',
    {
      schema: {
        summary: 'Counts of good and bad events since the last reset',
        tags,
        querystring: { type: 'object', properties: { project } },
        response: { 200: { type: 'object', properties: { total: { type: 'integer' }, good: { type: 'integer' }, bad: { type: 'integer' } } } },
      },
    },
    async (req) => {
      const { rows } = await (await dbOf(req)).query<{ good: number; bad: number }>(
        `SELECT (SELECT count(*)::int FROM events WHERE event_type = $1 AND stored_at >= (${since})) AS good,
                (SELECT count(*)::int FROM bad_rows WHERE created_at >= (${since})) AS bad`,
        [SNOWPLOW_EVENT_TYPE],
      );
      return { total: rows[0].good + rows[0].bad, good: rows[0].good, bad: rows[0].bad };
    },
  );

  app.get(
    '/micro/good',
    {
      schema: {
        summary: 'Good events since the last reset, newest first',
        tags,
        querystring: {
          type: 'object',
          properties: {
            event_type: { type: 'string', description: 'e.g. page_view, struct, unstruct' },
            schema: { type: 'string', description: 'Iglu URI of the self-describing event' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
            project,
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { event_type?: string; schema?: string; limit: number };
      const { rows } = await (await dbOf(req)).query<{ payload: Record<string, unknown> }>(
        `SELECT payload FROM events WHERE event_type = $1 AND stored_at >= (${since})
           AND ($2::text IS NULL OR payload->>'event' = $2)
           AND ($3::text IS NULL OR 'iglu:' || (payload->>'event_vendor') || '/' || (payload->>'event_name') || '/' || (payload->>'event_format') || '/' || (payload->>'event_version') = $3)
         ORDER BY stored_at DESC, event_id LIMIT $4`,
        [SNOWPLOW_EVENT_TYPE, q.event_type ?? null, q.schema ?? null, q.limit],
      );
      return rows.map((r) => ({
        event: r.payload,
        eventType: r.payload.event,
        schema: `iglu:${String(r.payload.event_vendor)}/${String(r.payload.event_name)}/${String(r.payload.event_format)}/${String(r.payload.event_version)}`,
        contexts: Object.keys(r.payload).filter((k) => k.startsWith('contexts_')),
      }));
    },
  );

  app.get(
    '/micro/bad',
    {
      schema: {
        summary: 'Bad rows since the last reset, newest first',
        tags,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 }, project } },
      },
    },
    async (req) => {
      const { limit } = req.query as { limit: number };
      const { rows } = await (await dbOf(req)).query<{ bad_row: unknown }>(`SELECT bad_row FROM bad_rows WHERE created_at >= (${since}) ORDER BY id DESC LIMIT $1`, [limit]);
      return rows.map((r) => r.bad_row);
    },
  );

  app.post(
    '/micro/reset',
    {
      schema: {
        summary: 'Forget what arrived so far (the stores keep it)',
        tags,
        querystring: { type: 'object', properties: { project } },
        response: { 200: { type: 'object', properties: { reset: { type: 'boolean' } } } },
      },
    },
    async (req) => {
      await (await dbOf(req)).query('UPDATE micro_state SET reset_at = clock_timestamp()');
      return { reset: true };
    },
  );
}
