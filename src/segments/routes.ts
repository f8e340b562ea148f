import { errorReplies, registerProjectGet, type AdminRoutes } from '../http/api';
import { DefinitionError } from '../shared/errors';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { getSegment, listSegments, type Segment } from './catalog';
import { listDeadLetters, redrive } from './dead-letters';
import { parseFilters, readRows } from './rows';

const errors = errorReplies(400, 404);
const nameParams = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;
const projectNameParams = {
  ...projectParam,
  required: ['project', 'name'],
  properties: { ...projectParam.properties, name: { type: 'string' } },
};

const deadLetterSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    segment: { type: 'string' },
    version: { type: 'integer' },
    rowId: { type: 'string' },
    row: { type: 'object', additionalProperties: true },
    reason: {
      type: 'object',
      properties: { kind: { type: 'string', enum: ['schema', 'database', 'unknown_segment'] }, messages: { type: 'array', items: { type: 'string' } } },
    },
    eventId: { type: 'string' },
    belt: { type: 'string' },
    eventAt: { type: 'string', format: 'date-time' },
    createdAt: { type: 'string', format: 'date-time' },
    attempts: { type: 'integer' },
    redrivenAt: { type: ['string', 'null'], format: 'date-time' },
  },
};

export const segmentRoutes: AdminRoutes = (app, { projects }) => {
  const find = async (project: string, name: string, version?: number): Promise<Segment> => {
    await requireProject(projects, project);
    const seg = await getSegment(projects.db(project), project, name, version);
    if (!seg) throw new HttpError(404, 'not_found', `no live segment ${JSON.stringify(name)}${version ? ` version ${version}` : ''}`);
    return seg;
  };

  registerProjectGet<{ name: string }, { filter?: string[]; limit: number; after?: string; version?: number }>(app, projects, {
    path: '/segments/:name/rows',
    alias: '/api/v1/segments/:name/rows',
    summary: "A live segment's rows in id order",
    tags: ['live segments'],
    params: nameParams,
    querystring: {
      type: 'object',
      properties: {
        filter: { type: 'array', items: { type: 'string' }, description: 'column=value (compared as text); repeat for several' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
        after: { type: 'string', description: 'the `next` cursor of the previous page' },
        version: { type: 'integer', minimum: 1, description: "an older version's table; the newest by default" },
      },
    },
    response: {
      200: {
        type: 'object',
        required: ['segment', 'version', 'rows', 'next'],
        properties: {
          segment: { type: 'string' },
          version: { type: 'integer' },
          rows: { type: 'array', items: { type: 'object', additionalProperties: true } },
          next: { type: ['string', 'null'] },
        },
      },
      ...errors,
    },
    handler: async (project, { name }, q, db) => {
      const seg = await find(project, name, q.version);
      try {
        const page = await readRows(db, seg, { filters: parseFilters(q.filter), limit: q.limit, after: q.after });
        return { segment: seg.name, version: seg.version, ...page };
      } catch (err) {
        if (err instanceof DefinitionError) throw new HttpError(400, 'bad_request', err.message, { field: err.field });
        throw err;
      }
    },
  });

  app.get(
    '/projects/:project/segments',
    {
      schema: {
        summary: 'Live segments: tables, row counts, open dead letters',
        tags: ['live segments'],
        params: projectParam,
        response: {
          200: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                name: { type: 'string' },
                version: { type: 'integer' },
                table: { type: 'string' },
                columns: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, type: { type: 'string' }, required: { type: 'boolean' } } } },
                rows: { type: 'integer' },
                deadLetters: { type: 'integer' },
              },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project } = req.params as { project: string };
      await requireProject(projects, project);
      return listSegments(projects.db(project), project);
    },
  );

  app.get(
    '/projects/:project/segments/:name/dead-letters',
    {
      schema: {
        summary: "A live segment's dead letters: rows its schema refused, with the reason",
        tags: ['live segments'],
        params: projectNameParams,
        querystring: {
          type: 'object',
          properties: {
            all: { type: 'boolean', default: false, description: 'include those already redriven' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            after: { type: 'string', pattern: '^[0-9]+$' },
          },
        },
        response: {
          200: { type: 'object', properties: { deadLetters: { type: 'array', items: deadLetterSchema }, next: { type: ['string', 'null'] } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      await find(project, name);
      const q = req.query as { all: boolean; limit: number; after?: string };
      return listDeadLetters(projects.db(project), project, name, q);
    },
  );

  app.post(
    '/projects/:project/segments/:name/redrive',
    {
      schema: {
        summary: "Writes a segment's dead letters that pass its current schema; the rest stay",
        tags: ['live segments'],
        params: projectNameParams,
        response: {
          200: { type: 'object', properties: { redriven: { type: 'integer' }, stillFailing: { type: 'integer' } } },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project, name } = req.params as { project: string; name: string };
      await find(project, name);
      return redrive(projects.db(project), project, name);
    },
  );
}
