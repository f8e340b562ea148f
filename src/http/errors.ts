/** The errors HTTP routes answer with, without fastify (app.ts registers the handler that answers them). */

/** The one JSON shape of every error answer. */
export const errorSchema = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string', description: 'machine-readable code' },
    message: { type: 'string', description: 'what went wrong, for a person' },
    details: {},
  },
} as const;

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
