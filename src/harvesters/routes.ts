import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { requireAdminKey } from '../http/auth';
import { registerResourceRoutes } from '../http/resource';
import { parseHarvesterBody } from './definition';
import { createHarvester, deleteHarvester, getHarvester, listHarvesters, updateHarvester } from './store';

const harvesterSchema = {
  type: 'object',
  required: ['name', 'displayName', 'source', 'script', 'eventType', 'running'],
  properties: {
    name: { type: 'string' },
    displayName: { type: 'string' },
    source: {
      type: 'object',
      required: ['kind'],
      properties: { kind: { type: 'string', enum: ['collector', 'kafka'] }, topic: { type: 'string' } },
    },
    script: { type: 'string', description: 'JavaScript: function transform(event, headers) returning the event, a list, or null' },
    eventType: { type: 'string' },
    running: { type: 'boolean' },
  },
};

export function registerHarvesterRoutes(app: FastifyInstance, pool: Pool, adminKey: string): void {
  const find = registerResourceRoutes(
    app,
    {
      path: 'harvesters',
      noun: 'harvester',
      tag: 'harvesters',
      itemSchema: harvesterSchema,
      parse: parseHarvesterBody,
      list: (project) => listHarvesters(pool, project),
      get: (project, name) => getHarvester(pool, project, name),
      create: (project, h) => createHarvester(pool, project, h),
      update: (project, h) => updateHarvester(pool, project, h),
      remove: (project, name) => deleteHarvester(pool, project, name),
    },
    adminKey,
  );
  for (const action of ['start', 'stop'] as const) {
    app.post(
      `/projects/:project/harvesters/:name/${action}`,
      {
        preHandler: requireAdminKey(adminKey),
        schema: {
          summary: `${action === 'start' ? 'Start' : 'Stop'} a harvester`,
          tags: ['harvesters'],
          security: [{ adminKey: [] }],
          params: { type: 'object', required: ['project', 'name'], properties: { project: { type: 'string' }, name: { type: 'string' } } },
          response: { 200: harvesterSchema, 401: { $ref: 'Error#' }, 403: { $ref: 'Error#' }, 404: { $ref: 'Error#' } },
        },
      },
      async (req) => {
        const { project, name } = req.params as { project: string; name: string };
        const h = { ...(await find(project, name)), running: action === 'start' };
        await updateHarvester(pool, project, h);
        return h;
      },
    );
  }
}
