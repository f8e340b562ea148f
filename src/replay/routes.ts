import { errorReplies, type AdminRoutes } from '../http/api';
import { WorkflowNotFoundError } from '@temporalio/common';
import { batchRetry } from '../batches/record';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { sinceParam } from '../http/since';
import { BatchNotInProjectError, listFailedBatches, replayBatch, type ReplayOutcome } from './replay';


const batchSchema = {
  type: 'object',
  properties: {
    workflowId: { type: 'string' },
    runId: { type: 'string' },
    taskQueue: { type: 'string' },
    startTime: { type: 'string' },
    closeTime: { type: 'string' },
    source: { type: 'string' },
    eventTypes: { type: 'array', items: { type: 'string' } },
    eventCount: { type: 'integer' },
    reason: { type: 'string' },
    previousRuns: { type: 'integer' },
  },
};
const outcomeSchema = {
  type: 'object',
  properties: { workflowId: { type: 'string' }, runId: { type: 'string' }, outcome: { type: 'string', enum: ['started', 'running', 'completed'] }, replayOf: { type: 'string' } },
};
const errors = errorReplies(400, 404);

/**
 * Failed batches and their replays (the CLI's `beltline replay`): GET lists, POST starts replays
 * (one batch, or all that match) and answers 202 with what it started; follow them in Temporal.
 */
export const replayRoutes: AdminRoutes = (app, deps) => {
  const taskQueue = deps.cfg.BELTLINE_TASK_QUEUE;
  const retry = batchRetry(deps.cfg);
  const base = { tags: ['replays'] };
  app.get(
    '/projects/:project/replays',
    {
      schema: {
        ...base,
        summary: 'Failed batches (ingestBatch runs that failed after their retries and were not replayed since)',
        params: projectParam,
        querystring: { type: 'object', properties: { since: { type: 'string' }, eventType: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } } },
        response: { 200: { type: 'array', items: batchSchema }, ...errors },
      },
    },
    async (req) => {
      const { project } = req.params as { project: string };
      await requireProject(deps.projects, project);
      const q = req.query as { since?: string; eventType?: string; limit: number };
      return listFailedBatches(await deps.temporal(), { taskQueue, project, since: sinceParam(q.since), eventType: q.eventType }, q.limit);
    },
  );
  app.post(
    '/projects/:project/replays',
    {
      schema: {
        ...base,
        summary: 'Replay failed batches: {workflowId} for one, or {all: true, since?, eventType?}',
        params: projectParam,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { workflowId: { type: 'string', minLength: 1 }, all: { type: 'boolean' }, since: { type: 'string' }, eventType: { type: 'string' } },
        },
        response: { 202: { type: 'object', properties: { replays: { type: 'array', items: outcomeSchema } } }, ...errors },
      },
    },
    async (req, reply) => {
      const { project } = req.params as { project: string };
      await requireProject(deps.projects, project);
      const body = req.body as { workflowId?: string; all?: boolean; since?: string; eventType?: string };
      if (!body.workflowId === !body.all) throw new HttpError(400, 'bad_request', 'give a workflowId or all: true', { field: 'workflowId' });
      const client = await deps.temporal();
      const ids = body.workflowId
        ? [body.workflowId]
        : (await listFailedBatches(client, { taskQueue, project, since: sinceParam(body.since), eventType: body.eventType })).map((b) => b.workflowId);
      const replays: ReplayOutcome[] = [];
      for (const id of ids) {
        try {
          replays.push(await replayBatch(client, id, retry, project));
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) throw new HttpError(404, 'not_found', `no workflow ${JSON.stringify(id)}`);
          if (err instanceof BatchNotInProjectError) throw new HttpError(404, 'not_found', err.message);
          if (body.workflowId && err instanceof Error && /not a batch/.test(err.message)) throw new HttpError(400, 'bad_request', err.message, { field: 'workflowId' });
          throw err;
        }
      }
      return reply.status(202).send({ replays });
    },
  );
}
