import type { Pool } from 'pg';
import { parseAllowedHosts } from '../../src/actions/targets';
import { loadConfig } from '../../src/config';
import type { ApiDeps } from '../../src/http/api';
import { sandboxedTrials } from '../../src/belts/try';
import { Projects } from '../../src/projects/service';
import { SchemaRegistry } from '../../src/schemas/registry';

/**
 * The admin API's dependencies for a test app of a few route modules, without Temporal or Python.
 * A test that creates projects passes its own `projects` and ends it.
 */
export function apiDeps(pool: Pool, adminKey: string, projects = new Projects(pool, loadConfig().databaseUrl)): ApiDeps {
  return {
    pool,
    projects,
    cfg: loadConfig(),
    adminKey,
    schemas: projects.perProject((_project, db) => new SchemaRegistry(db)),
    temporal: () => Promise.reject(new Error('this test app has no Temporal client')),
    pythonCheck: async () => undefined,
    // JavaScript belts run in their real sandbox; Python needs the pool's processes, not made here.
    beltTrials: sandboxedTrials(() => {
      throw new Error('this test app runs no Python belts');
    }),
    actionHosts: parseAllowedHosts(''),
  };
}
