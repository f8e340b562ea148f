import type { Pool } from 'pg';
import { parseAllowedHosts } from '../../src/actions/targets';
import { loadConfig } from '../../src/config';
import type { ApiDeps } from '../../src/http/api';
import { SchemaRegistry } from '../../src/schemas/registry';

/** The admin API's dependencies for a test app of a few route modules, without Temporal or Python. */
export function apiDeps(pool: Pool, adminKey: string): ApiDeps {
  return {
    pool,
    cfg: loadConfig(),
    adminKey,
    schemas: new SchemaRegistry(pool),
    temporal: () => Promise.reject(new Error('this test app has no Temporal client')),
    pythonCheck: async () => undefined,
    actionHosts: parseAllowedHosts(''),
  };
}
