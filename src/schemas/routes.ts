import { errorReplies, type AdminRoutes } from '../http/api';
import { HttpError } from '../http/app';
import { projectParam, requireProject } from '../http/projects';
import { parseSchemaPath, parseSchemaUri, schemaPath, type SchemaKey } from './iglu';
import { InvalidSchemaError, SchemaConflictError } from './registry';

const listingSchema = {
  type: 'object',
  required: ['key', 'vendor', 'name', 'format', 'version'],
  properties: {
    key: { type: 'string', description: 'iglu:vendor/name/format/MODEL-REVISION-ADDITION' },
    vendor: { type: 'string' },
    name: { type: 'string' },
    format: { type: 'string' },
    version: { type: 'string', description: 'SchemaVer MODEL-REVISION-ADDITION' },
  },
} as const;

const putResultSchema = {
  ...listingSchema,
  required: [...listingSchema.required, 'created'],
  properties: { ...listingSchema.properties, created: { type: 'boolean', description: 'false when the same schema was there already' } },
} as const;

const selfDescribingSchema = {
  type: 'object',
  additionalProperties: true,
  description:
    'A self-describing JSON Schema (draft-04): `$schema` is ' +
    '"http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#" and ' +
    '`self` is `{vendor, name, format: "jsonschema", version: "M-R-A"}`',
} as const;

const keyParams = {
  type: 'object',
  required: ['project', 'vendor', 'name', 'format', 'version'],
  properties: {
    ...projectParam.properties,
    vendor: { type: 'string', pattern: '^[a-zA-Z0-9_.-]+$' },
    name: { type: 'string', pattern: '^[a-zA-Z0-9_-]+$' },
    format: { type: 'string', pattern: '^[a-zA-Z0-9_-]+$' },
    version: { type: 'string', pattern: '^[0-9]+-[0-9]+-[0-9]+$' },
  },
} as const;

const errors = errorReplies(400, 404, 409);

/**
 * The schema registry's admin API (Iglu schemas are immutable: create, list, read; no update or delete):
 * `POST /projects/:project/schemas` (201 created, 200 unchanged, 409 conflict, 400 invalid),
 * `GET /projects/:project/schemas`, `GET /projects/:project/schemas/:vendor/:name/:format/:version`.
 */
export const schemaRoutes: AdminRoutes = (app, { projects, schemas: registryOf }) => {
  const base = { tags: ['schemas'] };

  app.post(
    '/projects/:project/schemas',
    {
      schema: {
        ...base,
        summary: 'Add a self-describing JSON Schema (Iglu); the same one again is no change',
        params: projectParam,
        body: selfDescribingSchema,
        response: { 200: putResultSchema, 201: putResultSchema, ...errors },
      },
    },
    async (req, reply) => {
      const { project } = req.params as { project: string };
      await requireProject(projects, project);
      let result: { key: string; created: boolean };
      try {
        result = await registryOf(project).put(req.body);
      } catch (err) {
        if (err instanceof InvalidSchemaError) throw new HttpError(400, 'bad_request', err.message, { field: err.field, issues: err.issues });
        if (err instanceof SchemaConflictError) throw new HttpError(409, 'conflict', err.message, { key: err.key });
        throw err;
      }
      const key = parseSchemaUri(result.key) as SchemaKey;
      return reply
        .status(result.created ? 201 : 200)
        .header('location', `/projects/${project}/schemas/${schemaPath(key)}`)
        .send({ key: result.key, ...key, created: result.created });
    },
  );

  app.get(
    '/projects/:project/schemas',
    { schema: { ...base, summary: 'List the schemas (keys only)', params: projectParam, response: { 200: { type: 'array', items: listingSchema }, ...errors } } },
    async (req) => {
      const { project } = req.params as { project: string };
      await requireProject(projects, project);
      return registryOf(project).list();
    },
  );

  app.get(
    '/projects/:project/schemas/:vendor/:name/:format/:version',
    { schema: { ...base, summary: 'One schema, as it was added', params: keyParams, response: { 200: selfDescribingSchema, ...errors } } },
    async (req) => {
      const { project, vendor, name, format, version } = req.params as { project: string } & SchemaKey;
      await requireProject(projects, project);
      const path = `${vendor}/${name}/${format}/${version}`;
      if (!parseSchemaPath(path)) throw new HttpError(400, 'bad_request', `${path} is not an Iglu key vendor/name/format/MODEL-REVISION-ADDITION`);
      const schema = await registryOf(project).get(path);
      if (schema === undefined) throw new HttpError(404, 'not_found', `no schema iglu:${path}`);
      return schema;
    },
  );
}
