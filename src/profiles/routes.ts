import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { HttpError } from '../http/app';
import { getProfile } from './store';

const profileSchema = {
  type: 'object',
  required: ['id', 'document', 'updatedAt'],
  properties: {
    id: { type: 'string' },
    document: { type: 'object', additionalProperties: true },
    updatedAt: { type: 'string', format: 'date-time' },
  },
} as const;

export function registerProfileRoutes(app: FastifyInstance, pool: Pool): void {
  app.get(
    '/api/v1/profiles/:id',
    {
      schema: {
        summary: 'A profile document by id',
        tags: ['profiles'],
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 512 } } },
        querystring: { type: 'object', properties: { project: { type: 'string', default: 'default' } } },
        response: { 200: profileSchema, 404: { $ref: 'Error#' } },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const profile = await getProfile(pool, id);
      if (!profile) throw new HttpError(404, 'not_found', `no profile with id ${JSON.stringify(id)}`);
      return profile;
    },
  );
}
