import { errorReplies, type AdminRoutes } from '../http/api';
import { projectParam } from '../http/projects';
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
      properties: { kind: { type: 'string', enum: ['collector', 'kafka', 'snowplow-enriched'] }, topic: { type: 'string' } },
    },
    script: { type: 'string', description: 'JavaScript: function transform(event, headers) returning the event, a list, or null' },
    eventType: { type: 'string' },
    running: { type: 'boolean' },
  },
};

export const harvesterRoutes: AdminRoutes = (app, { projects }) => {
  const find = registerResourceRoutes(
    app,
    projects,
    {
      path: 'harvesters',
      noun: 'harvester',
      tag: 'harvesters',
      itemSchema: harvesterSchema,
      parse: parseHarvesterBody,
      list: (project) => listHarvesters(projects.db(project), project),
      get: (project, name) => getHarvester(projects.db(project), project, name),
      create: (project, h) => createHarvester(projects.db(project), project, h),
      update: (project, h) => updateHarvester(projects.db(project), project, h),
      remove: (project, name) => deleteHarvester(projects.db(project), project, name),
    },
  );
  for (const action of ['start', 'stop'] as const) {
    app.post(
      `/projects/:project/harvesters/:name/${action}`,
      {
        schema: {
          summary: `${action === 'start' ? 'Start' : 'Stop'} a harvester`,
          tags: ['harvesters'],
          params: { ...projectParam, required: ['project', 'name'], properties: { ...projectParam.properties, name: { type: 'string' } } },
          response: { 200: harvesterSchema, ...errorReplies(404) },
        },
      },
      async (req) => {
        const { project, name } = req.params as { project: string; name: string };
        const h = { ...(await find(project, name)), running: action === 'start' };
        await updateHarvester(projects.db(project), project, h);
        return h;
      },
    );
  }
}
