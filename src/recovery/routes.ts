import { WorkflowNotFoundError } from '@temporalio/common';
import type { Pool } from 'pg';
import { badRowTypeCounts, listBadRows } from '../badrows/store';
import { errorReplies, registerProjectGet, type AdminRoutes } from '../http/api';
import { HttpError } from '../http/app';
import { sinceParam } from '../http/since';
import { projectParam, requireProject } from '../http/projects';
import { DEFAULT_PROJECT } from '../projects/names';
import { PROJECT } from '../workflows/search-attributes';
import type { RecoveryProgress, RecoveryResult } from '../workflows';
import { BAD_ROW_TYPES, parseRecoveryConfig, parseRecoveryConfigText, RecoveryConfigError, type RecoveryConfig } from './config';
import { evaluateBadRow, previewPayload } from './evaluate';
import { startRecovery } from './start';
import { temporalUiPath, workflowUiUrl } from '../temporal/ui';
import { newestBadRows, type RecoveryFilter } from './store';

/**
 * Stored bad rows and their recovery (the CLI's `beltline recover`): list them by type, preview a
 * configuration on them in process (the activity's own pure evaluation; nothing written or sent),
 * start a real run on Temporal and follow it.
 */

const tags = ['recovery'];
const errors = errorReplies(400, 404);
const anyJson = {};
const badRowType = { type: 'string', enum: BAD_ROW_TYPES };
const since = { type: 'string', description: 'ISO-8601: bad rows stored from then on' };
const filterSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { types: { type: 'array', items: badRowType }, since, topic: { type: 'string', description: 'only bad rows of batches read from this Kafka topic' } },
};
const configSchema = { description: 'The recovery configuration (flows keyed by bad-row type): JSON, or its text as in the file `beltline recover --config` reads' };
const countsSchema = { type: 'object', properties: { recovered: { type: 'integer' }, failed: { type: 'integer' }, unmatched: { type: 'integer' }, unrecoverable: { type: 'integer' } } };
const changeSchema = { type: 'object', properties: { path: { type: 'string' }, before: anyJson, after: anyJson } };
const reportSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, type: { type: 'string' }, status: { type: 'string' }, flow: { type: 'string' }, reason: { type: 'string' }, changes: { type: 'array', items: changeSchema } },
};

/** The configuration as the CLI takes it (text or JSON), checked; a 400 names the field at fault. */
function readConfig(raw: unknown): { json: unknown; parsed: RecoveryConfig } {
  try {
    if (typeof raw === 'string') {
      const parsed = parseRecoveryConfigText(raw);
      return { json: JSON.parse(raw) as unknown, parsed };
    }
    return { json: raw, parsed: parseRecoveryConfig(raw) };
  } catch (err) {
    if (err instanceof RecoveryConfigError) throw new HttpError(400, 'bad_request', `config: ${err.message}`, { field: 'config' });
    throw err;
  }
}

function readFilter(f: RecoveryFilter | undefined): RecoveryFilter {
  return { ...f, since: sinceParam(f?.since || undefined, 'filter.since') };
}

export const recoveryRoutes: AdminRoutes = (app, deps) => {
  registerProjectGet<Record<string, never>, { type?: string; since?: string; after?: string; limit: number }>(app, deps.projects, {
    path: '/bad-rows',
    summary: 'Stored bad rows (Snowplow format), newest first, with counts per type',
    tags,
    querystring: {
      type: 'object',
      properties: {
        type: badRowType,
        since,
        after: { type: 'string', pattern: '^[0-9]+$', description: 'cursor: the `next` of the previous page' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
      },
    },
    response: {
      200: {
        type: 'object',
        properties: {
          rows: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                type: { type: 'string' },
                createdAt: { type: 'string' },
                recoveredAt: { type: ['string', 'null'] },
                recoveryRun: { type: ['string', 'null'] },
                recoveryFlow: { type: ['string', 'null'] },
                badRow: { type: 'object', additionalProperties: true },
              },
            },
          },
          next: { type: ['string', 'null'] },
          types: { type: 'array', items: { type: 'object', properties: { type: { type: 'string' }, total: { type: 'integer' }, pending: { type: 'integer' } } } },
        },
      },
      ...errors,
    },
    handler: async (_project, _params, q, db: Pool) => {
      const from = sinceParam(q.since || undefined);
      const [page, types] = await Promise.all([listBadRows(db, { type: q.type, since: from, after: q.after, limit: q.limit }), badRowTypeCounts(db, from)]);
      return { ...page, types };
    },
  });

  app.post(
    '/projects/:project/recovery/dry-run',
    {
      schema: {
        tags,
        summary: 'Preview a recovery configuration on the newest bad rows not recovered yet: per row, its payload before and after (or why not). Nothing is written or sent',
        params: projectParam,
        body: {
          type: 'object',
          required: ['config'],
          additionalProperties: false,
          properties: { config: configSchema, filter: filterSchema, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              rows: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    ...reportSchema.properties,
                    createdAt: { type: 'string' },
                    original: anyJson,
                    recovered: anyJson,
                    view: { type: 'object', properties: { original: anyJson, recovered: anyJson } },
                  },
                },
              },
              counts: countsSchema,
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project } = req.params as { project: string };
      const body = req.body as { config: unknown; filter?: RecoveryFilter; limit: number };
      const { parsed } = readConfig(body.config);
      const filter = readFilter(body.filter);
      await requireProject(deps.projects, project);
      const rows = await newestBadRows(deps.projects.db(project), filter, body.limit);
      const counts = { recovered: 0, failed: 0, unmatched: 0, unrecoverable: 0 };
      const now = Date.now();
      return {
        rows: rows.map((r) => {
          const { outcome } = evaluateBadRow(parsed, r.badRow, { run: 'dry-run', badRow: r.id }, now);
          counts[outcome.status]++;
          return {
            id: r.id,
            type: r.type,
            createdAt: r.createdAt,
            status: outcome.status,
            ...('flow' in outcome ? { flow: outcome.flow } : {}),
            ...('reason' in outcome ? { reason: outcome.reason } : {}),
            changes: 'changes' in outcome ? outcome.changes : [],
            ...previewPayload(r.badRow, outcome),
          };
        }),
        counts,
      };
    },
  );

  const runRef = { type: 'object', properties: { workflowId: { type: 'string' }, temporalUiPath: { type: 'string' }, temporalUiUrl: { type: ['string', 'null'], description: 'null when the Web UI is not known (BELTLINE_TEMPORAL_UI_URL)' } } };
  app.post(
    '/projects/:project/recovery/runs',
    {
      schema: {
        tags,
        summary: 'Start a recovery run (the recoverBadRows workflow): repaired bad rows go to raw again, the rest to the failed-recovery topic',
        params: projectParam,
        body: { type: 'object', required: ['config'], additionalProperties: false, properties: { config: configSchema, filter: filterSchema } },
        response: { 202: runRef, ...errors },
      },
    },
    async (req, reply) => {
      const { project } = req.params as { project: string };
      const body = req.body as { config: unknown; filter?: RecoveryFilter };
      const { json } = readConfig(body.config);
      const filter = readFilter(body.filter);
      await requireProject(deps.projects, project);
      const handle = await startRecovery(await deps.temporal(), deps.cfg, { config: json, filter, dryRun: false, project });
      return reply.status(202).send({ workflowId: handle.workflowId, temporalUiPath: temporalUiPath(deps.cfg, handle.workflowId), temporalUiUrl: workflowUiUrl(deps.cfg, handle.workflowId) });
    },
  );

  app.get(
    '/projects/:project/recovery/runs/:workflowId',
    {
      schema: {
        tags,
        summary: "A recovery run's status, its progress while it runs, and its result once done",
        params: { ...projectParam, required: ['project', 'workflowId'], properties: { ...projectParam.properties, workflowId: { type: 'string', minLength: 1 } } },
        response: {
          200: {
            type: 'object',
            properties: {
              ...runRef.properties,
              status: { type: 'string', description: "Temporal's: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT" },
              progress: {
                type: ['object', 'null'],
                properties: { run: { type: 'string' }, dryRun: { type: 'boolean' }, done: { type: 'integer' }, total: { type: 'integer' }, counts: countsSchema, finished: { type: 'boolean' } },
              },
              result: {
                type: ['object', 'null'],
                properties: { done: { type: 'integer' }, total: { type: 'integer' }, dryRun: { type: 'boolean' }, counts: countsSchema, reports: { type: 'array', items: reportSchema }, omitted: { type: 'integer' } },
              },
              error: { type: ['string', 'null'] },
            },
          },
          ...errors,
        },
      },
    },
    async (req) => {
      const { project, workflowId } = req.params as { project: string; workflowId: string };
      await requireProject(deps.projects, project);
      const handle = (await deps.temporal()).workflow.getHandle(workflowId);
      const notFound = new HttpError(404, 'not_found', `no recovery run ${JSON.stringify(workflowId)} in project ${JSON.stringify(project)}`);
      let desc;
      try {
        desc = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound;
        throw err;
      }
      if (desc.type !== 'recoverBadRows' || (desc.typedSearchAttributes.get(PROJECT) ?? DEFAULT_PROJECT) !== project) throw notFound;
      const status = desc.status.name;
      let progress: RecoveryProgress | null = null;
      let result: RecoveryResult | null = null;
      let error: string | null = null;
      if (status === 'RUNNING') {
        // A run between workflow tasks may not answer yet: no progress this time, not an error.
        progress = await handle.query<RecoveryProgress>('recoveryProgress').catch(() => null);
      } else {
        try {
          result = (await handle.result()) as RecoveryResult;
          progress = result;
        } catch (err) {
          const e = err as Error & { cause?: Error };
          error = e.cause?.message ?? e.message;
        }
      }
      return { workflowId, status, progress, result, error, temporalUiPath: temporalUiPath(deps.cfg, workflowId), temporalUiUrl: workflowUiUrl(deps.cfg, workflowId) };
    },
  );
};
