import type { FastifyInstance } from 'fastify';
import type { Readiness } from './readiness';

const dependencyStatus = {
  type: 'object',
  required: ['status', 'required', 'ms'],
  properties: {
    status: { type: 'string', enum: ['up', 'down'] },
    required: { type: 'boolean', description: "whether the process's roles cannot work without it (a down one makes the process unready)" },
    ms: { type: 'integer', description: 'how long the check took' },
    reason: { type: 'string', description: 'why it is down' },
  },
} as const;

const dependencies = {
  type: 'object',
  description: 'The dependencies the roles of this process use, each checked now within BELTLINE_READY_TIMEOUT',
  properties: { kafka: dependencyStatus, temporal: dependencyStatus, postgres: dependencyStatus },
} as const;

/** The readiness probe's route; no key, like /health: it says which dependency is down, never how to reach it. */
export function readyRoute(app: FastifyInstance, readiness: Readiness): void {
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the dependencies of this process are reachable and it is not shutting down',
        description:
          "200 when every dependency the process's roles need answers; 503 otherwise: error `not_ready` naming each one down and why, `starting` before the roles run, or `shutting_down` after SIGTERM. Liveness is GET /health.",
        response: {
          200: { type: 'object', required: ['status', 'dependencies'], properties: { status: { type: 'string', enum: ['ready'] }, dependencies } },
          503: {
            type: 'object',
            required: ['error', 'message', 'details'],
            description: 'The shared error shape; details.dependencies as in the 200 answer',
            properties: { error: { type: 'string', enum: ['not_ready', 'starting', 'shutting_down'] }, message: { type: 'string' }, details: { type: 'object', properties: { dependencies } } },
          },
        },
      },
    },
    async (_req, reply) => {
      const answer = await readiness.probe();
      return reply.status(answer.ready ? 200 : 503).send(answer.body);
    },
  );
}
