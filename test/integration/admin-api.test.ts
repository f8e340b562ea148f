import { startBeltline, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

/** The collector's routes: public, or with the write key of a project that requires one. */
const COLLECTOR = new Set([
  'POST /com.snowplowanalytics.snowplow/tp2',
  'POST /api/com.snowplowanalytics.snowplow/tp2',
  'POST /p/{project}/com.snowplowanalytics.snowplow/tp2',
  'POST /p/{project}/api/com.snowplowanalytics.snowplow/tp2',
  'GET /i',
  'GET /p/{project}/i',
  'POST /api/v1/events/{eventType}',
]);
/** The routes anyone may call: the collector's, and the server's own probes (health, readiness) and description. */
const PUBLIC = new Set([...COLLECTOR, 'GET /health', 'GET /ready']);

type Operation = { security?: unknown[]; responses?: Record<string, unknown> };

/**
 * One auth scope for the whole admin API: every route outside the collector's says in the
 * OpenAPI document that it takes the admin key and may answer 401/403, and does answer 401
 * without a key and 403 with a wrong one, before anything else (validation, lookups) happens.
 */
describe('the admin API', () => {
  let beltline: BeltlineProcess;
  let doc: { paths: Record<string, Record<string, Operation>> };

  beforeAll(async () => {
    const { topic, group } = await freshTopic('admin-api');
    beltline = await startBeltline({ roles: ['collector'], port: 18157, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_MICRO: 'true' } });
    doc = (await (await fetch(`${beltline.url}/openapi.json`)).json()) as typeof doc;
  }, 120_000);

  afterAll(async () => beltline?.stop());

  const operations = (): { method: string; path: string; op: Operation }[] =>
    Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })));

  it('documents the key and its two refusals on every route but the collector\'s', () => {
    const admin = operations().filter((o) => !PUBLIC.has(`${o.method} ${o.path}`));
    expect(admin.length).toBeGreaterThan(40);
    // The instance key opens every route; a project's admin key every route but the instance's own.
    const INSTANCE_ROUTES = new Set(['POST /projects', 'GET /projects', 'DELETE /projects/{project}', 'GET /metrics']);
    const keys = (o: { method: string; path: string }): unknown => (INSTANCE_ROUTES.has(`${o.method} ${o.path}`) ? [{ adminKey: [] }] : [{ adminKey: [] }, { projectAdminKey: [] }]);
    const undocumented = admin.filter((o) => JSON.stringify(o.op.security) !== JSON.stringify(keys(o)) || !o.op.responses?.['401'] || !o.op.responses?.['403']);
    expect(undocumented.map((o) => `${o.method} ${o.path}`)).toEqual([]);
    expect(admin.filter((o) => INSTANCE_ROUTES.has(`${o.method} ${o.path}`))).toHaveLength(INSTANCE_ROUTES.size);
    const open = operations().filter((o) => PUBLIC.has(`${o.method} ${o.path}`) && !COLLECTOR.has(`${o.method} ${o.path}`));
    expect(open.map((o) => o.op.security)).toEqual(open.map(() => undefined));
    // A collector route takes a project's write key, or nothing (a public project).
    const collector = operations().filter((o) => COLLECTOR.has(`${o.method} ${o.path}`));
    expect(collector.map((o) => `${o.method} ${o.path}`).sort()).toEqual([...COLLECTOR].sort());
    expect(collector.map((o) => o.op.security)).toEqual(collector.map(() => [{ writeKey: [] }, {}]));
  });

  it('answers 401 without a key and 403 with a wrong one on every admin route, whatever the body', async () => {
    const admin = operations().filter((o) => !PUBLIC.has(`${o.method} ${o.path}`));
    const refusals: string[] = [];
    for (const { method, path } of admin) {
      const url = `${beltline.url}${path.replace(/\{[^}]+\}/g, 'x')}`;
      const init = { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' || method === 'DELETE' ? undefined : '{"not": "valid"}' };
      const none = await fetch(url, init);
      const wrong = await fetch(url, { ...init, headers: { ...init.headers, authorization: 'Bearer not-the-key-at-all' } });
      if (none.status !== 401 || wrong.status !== 403) refusals.push(`${method} ${path}: ${none.status}/${wrong.status}`);
    }
    expect(refusals).toEqual([]);
  }, 60_000);
});
