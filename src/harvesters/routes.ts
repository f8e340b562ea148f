import { errorReplies, type AdminRoutes } from '../http/api';
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

export const harvesterRoutes: AdminRoutes = (app, { pool }) => {
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
  );
  for (const action of ['start', 'stop'] as const) {
    app.post(
      `/projects/:project/harvesters/:name/${action}`,
      {
        schema: {
          summary: `${action === 'start' ? 'Start' : 'Stop'} a harvester`,
          tags: ['harvesters'],
          params: { type: 'object', required: ['project', 'name'], properties: { project: { type: 'string' }, name: { type: 'string' } } },
          response: { 200: harvesterSchema, ...errorReplies(404) },
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
