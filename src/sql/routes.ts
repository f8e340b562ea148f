import { errorReplies, registerProjectGet, type AdminRoutes } from '../http/api';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { projectSchema } from '../projects/names';
import { sqlProblem } from './console';
import { readSchema, runSql } from './run';

const TAGS = ['sql console'];
const column = { type: 'object', required: ['name', 'type'], properties: { name: { type: 'string' }, type: { type: 'string' } } } as const;

/** Seed 001's SQLPad: read-only SQL on the project's own schema, and that schema's tables. */
export const sqlRoutes: AdminRoutes = (app, { projects, cfg }) => {
  app.post<{ Params: { project: string }; Body: { sql: string } }>(
    '/projects/:project/sql',
    {
      schema: {
        summary: "Runs one read-only query on the project's schema",
        description:
          'One statement, a query (SELECT, VALUES, TABLE, WITH, SHOW, EXPLAIN), in a read-only transaction that is rolled back, as a role that may read ' +
          "this project's tables only. At most BELTLINE_SQL_MAX_ROWS rows are read (`truncated` says there were more); it is cancelled after " +
          "BELTLINE_SQL_TIMEOUT. A write, a second statement, another project's schema, a syntax error or the timeout is a 400 with PostgreSQL's reason.",
        tags: TAGS,
        params: projectParam,
        body: {
          type: 'object',
          required: ['sql'],
          additionalProperties: false,
          properties: { sql: { type: 'string', minLength: 1, maxLength: 100_000, description: "a query; unqualified names are the project's tables" } },
        },
        response: {
          200: {
            type: 'object',
            required: ['columns', 'rows', 'rowCount', 'truncated', 'ms'],
            properties: {
              columns: { type: 'array', items: column },
              rows: { type: 'array', items: { type: 'array', items: {} }, description: "one array of cells per row, in the columns' order" },
              rowCount: { type: 'integer' },
              truncated: { type: 'boolean' },
              ms: { type: 'number', description: 'how long the query ran' },
            },
          },
          ...errorReplies(400, 404, 501),
        },
      },
    },
    async (req) => {
      const { project } = req.params;
      await requireProject(projects, project);
      if (!req.body.sql.trim()) throw new HttpError(400, 'bad_request', 'the query is empty');
      try {
        return await runSql(projects.db(project), project, req.body.sql, { timeoutMs: cfg.BELTLINE_SQL_TIMEOUT, maxRows: cfg.BELTLINE_SQL_MAX_ROWS });
      } catch (err) {
        throw sqlProblem(err, cfg.BELTLINE_SQL_TIMEOUT) ?? err;
      }
    },
  );

  registerProjectGet<Record<string, never>, Record<string, never>>(app, projects, {
    path: '/sql/schema',
    summary: "The project's tables and views with their columns, as the SQL console sees them",
    tags: TAGS,
    response: {
      200: {
        type: 'object',
        required: ['schema', 'tables'],
        properties: {
          schema: { type: 'string', description: "the project's PostgreSQL schema, first on the query's search_path" },
          tables: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'kind', 'segment', 'columns'],
              properties: {
                name: { type: 'string' },
                kind: { type: 'string', enum: ['table', 'view', 'materialized view', 'foreign table'] },
                segment: {
                  type: ['object', 'null'],
                  description: 'the live segment whose table this is',
                  properties: { name: { type: 'string' }, version: { type: 'integer' } },
                },
                columns: { type: 'array', items: column },
              },
            },
          },
        },
      },
    },
    handler: async (project, _params, _query, db) => ({ schema: projectSchema(project), tables: await readSchema(db, project) }),
  });
};
