import { HttpError } from './app';

/** One project for now: its data lives in the `beltline` schema. */
export const DEFAULT_PROJECT = 'default';

export function assertProject(project: string): void {
  if (project !== DEFAULT_PROJECT) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)} (this server has "${DEFAULT_PROJECT}")`);
}

export const projectParam = {
  type: 'object',
  required: ['project'],
  properties: { project: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,62}$' } },
} as const;
