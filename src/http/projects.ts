import { HttpError } from './app';
import { PROJECT_NAME_PATTERN } from '../projects/names';

/** What routes need to know of the registry: whether a project exists. */
export interface ProjectLookup {
  exists(project: string): Promise<boolean>;
}

/** A 404 in the shared shape for a project the registry does not hold. */
export async function requireProject(projects: ProjectLookup, project: string): Promise<void> {
  if (!(await projects.exists(project))) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)}`);
}

export const projectParam = {
  type: 'object',
  required: ['project'],
  properties: { project: { type: 'string', pattern: PROJECT_NAME_PATTERN } },
} as const;

