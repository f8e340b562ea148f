import { errorReplies, registerProjectGet, type AdminRoutes } from '../http/api';
import { HttpError } from '../http/app';
import type { Json } from './semantics';
import { getProfileDetails } from './inspect';
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

const pathSchema = { type: 'array', items: { type: 'string' } } as const;

const detailsSchema = {
  type: 'object',
  required: ['id', 'requested', 'document', 'updatedAt', 'known', 'stamps', 'linkedIds', 'history', 'expirations'],
  properties: {
    id: { type: 'string', description: 'the profile read (an id linked to another reads that one)' },
    requested: { type: 'string', description: 'the id asked for' },
    document: { type: 'object', additionalProperties: true },
    updatedAt: { type: 'string', format: 'date-time' },
    known: { type: 'boolean' },
    stamps: {
      type: 'array',
      description: 'per written path (and set element), the time and event that wrote it, newest first',
      items: {
        type: 'object',
        required: ['path', 'at', 'eventId', 'kind', 'deleted', 'setOnce', 'withHistory'],
        properties: {
          path: pathSchema,
          at: { type: 'string', format: 'date-time' },
          eventId: { type: 'string' },
          kind: { type: 'string', enum: ['value', 'element'] },
          element: {},
          deleted: { type: 'boolean' },
          setOnce: { type: 'boolean' },
          withHistory: { type: 'boolean' },
        },
      },
    },
    linkedIds: { type: 'array', items: { type: 'string' } },
    history: profileSchema.properties.history,
    expirations: {
      type: 'array',
      items: { type: 'object', required: ['path', 'kind', 'dueAt'], properties: { path: pathSchema, kind: { type: 'string', enum: ['ttl', 'ttn'] }, dueAt: { type: 'string', format: 'date-time' } } },
    },
  },
} as const;

/**
 * Profiles are personal data, and through `_link` an anonymous id (which a tracker's cookie
 * shows anyone) reads the authenticated profile: reading needs the admin key.
 */
export const profileRoutes: AdminRoutes = (app, { projects }) => {
  registerProjectGet<{ id: string }, { history: boolean }>(app, projects, {
    path: '/profiles/:id',
    alias: '/api/v1/profiles/:id',
    summary: 'A profile document by id',
    tags: ['profiles'],
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
    querystring: { type: 'object', properties: { history: { type: 'boolean', default: false } } },
    response: { 200: profileSchema, ...errorReplies(404) },
    handler: async (_project, { id }, q, db) => {
      const profile = await getProfile(db, id);
      if (!profile) throw new HttpError(404, 'not_found', `no profile with id ${JSON.stringify(id)}`);
      return q.history ? { ...profile, history: await getHistory(db, id) } : profile;
    },
  });

  registerProjectGet<{ id: string }, Record<string, never>>(app, projects, {
    path: '/profiles/:id/details',
    summary: 'A profile with what explains it: per-path stamps, linked ids, history and pending expirations (the console\'s profile view)',
    tags: ['profiles'],
    params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
    response: { 200: detailsSchema, ...errorReplies(404) },
    handler: async (_project, { id }, _q, db) => {
      const details = await getProfileDetails(db, id);
      if (!details) throw new HttpError(404, 'not_found', `no profile with id ${JSON.stringify(id)}`);
      return details;
    },
  });

  registerProjectGet<Record<string, never>, { path: string; value: string; limit: number }>(app, projects, {
    path: '/profiles',
    alias: '/api/v1/profiles',
    summary: 'Profiles whose value at a path equals a value (e.g. ?path=contact.email&value="a@b.c")',
    tags: ['profiles'],
    querystring: {
      type: 'object',
      required: ['path', 'value'],
      properties: {
        path: { type: 'string', minLength: 1, description: 'dot-separated path' },
        value: { type: 'string', description: 'JSON value (a bare word is taken as a string)' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
      },
    },
    response: { 200: { type: 'array', items: profileSchema }, ...errorReplies(400) },
    handler: async (_project, _params, q, db) => {
      let value: Json;
      try {
        value = JSON.parse(q.value) as Json;
      } catch {
        value = q.value;
      }
      return findByPath(db, q.path.split('.'), value, q.limit);
    },
  });
};
