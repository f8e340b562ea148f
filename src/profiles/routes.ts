import { errorReplies, type AdminRoutes } from '../http/api';
import { HttpError } from '../http/app';
import { assertProject, DEFAULT_PROJECT } from '../http/projects';
import type { Json } from './semantics';
import { findByPath, getHistory, getProfile } from './store';

const profileSchema = {
  type: 'object',
  required: ['id', 'document', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    document: { type: 'object', additionalProperties: true },
    updatedAt: { type: 'string', format: 'date-time' },
    history: {
      type: 'array',
      description: 'with ?history=true: values replaced at paths written with _set_with_history',
      items: {
        type: 'object',
        properties: { path: { type: 'array', items: { type: 'string' } }, value: {}, validFrom: { type: 'string' }, eventId: { type: 'string' }, replacedBy: { type: 'string' } },
      },
    },
  },
} as const;

const projectQuery = { project: { type: 'string', default: DEFAULT_PROJECT } } as const;
/**
 * Profiles are personal data, and through `_link` an anonymous id (which a tracker's cookie
 * shows anyone) reads the authenticated profile: reading needs the admin key.
 */
export const profileRoutes: AdminRoutes = (app, { pool }) => {
  app.get(
    '/api/v1/profiles/:id',
    {
      schema: {
        summary: 'A profile document by id',
        tags: ['profiles'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
        querystring: { type: 'object', properties: { ...projectQuery, history: { type: 'boolean', default: false } } },
        response: { 200: profileSchema, ...errorReplies(404) },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const q = req.query as { project: string; history: boolean };
      assertProject(q.project);
      const profile = await getProfile(pool, id);
      if (!profile) throw new HttpError(404, 'not_found', `no profile with id ${JSON.stringify(id)}`);
      return q.history ? { ...profile, history: await getHistory(pool, id) } : profile;
    },
  );

  app.get(
    '/api/v1/profiles',
    {
      schema: {
        summary: 'Profiles whose value at a path equals a value (e.g. ?path=contact.email&value="a@b.c")',
        tags: ['profiles'],
        querystring: {
          type: 'object',
          required: ['path', 'value'],
          properties: {
            ...projectQuery,
            path: { type: 'string', minLength: 1, description: 'dot-separated path' },
            value: { type: 'string', description: 'JSON value (a bare word is taken as a string)' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: { 200: { type: 'array', items: profileSchema }, ...errorReplies(400) },
      },
    },
    async (req) => {
      const q = req.query as { project: string; path: string; value: string; limit: number };
      assertProject(q.project);
      let value: Json;
      try {
        value = JSON.parse(q.value) as Json;
      } catch {
        value = q.value;
      }
      return findByPath(pool, q.path.split('.'), value, q.limit);
    },
  );
}
