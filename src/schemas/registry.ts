/**
 * The schema registry: Iglu schemas in PostgreSQL (`beltline.schemas`), and validation of
 * self-describing JSON against them with validators compiled once per key.
 */
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '../db/pool';
import { readSchemaDir } from './dir';
import { checkSelfDescribingSchema, InvalidSchemaError, isSelfDescribingJson, parseSchemaKey, parseSchemaUri, parseSchemaVer, schemaUri, type CheckedSchema, type SchemaIssue } from './iglu';
import { compileIgluSchema, createIgluAjv, type DataReport, type DataValidator } from './validate';

export { InvalidSchemaError } from './iglu';
export type { DataReport, SchemaIssue } from './validate';

export interface SelfDescribing {
  schema: string;
  data: unknown;
}

/** One entry of a ResolutionError's lookup history, as Snowplow's `schema_violations` bad rows have it. */
export interface LookupAttempt {
  repository: string;
  errors: { error: 'NotFound' | 'RepoFailure' | 'ClientFailure'; message?: string }[];
  attempts: number;
  lastAttempt: string;
}

/**
 * Why a self-describing JSON failed: its schema cannot be found (`ResolutionError`, with
 * `lookupHistory`), its data does not match it (`ValidationError`, with `dataReports`), or the stored
 * schema itself is broken (`ValidationError`, with `schemaIssues`).
 */
export interface SchemaViolation {
  /** The `schema` of the JSON, as given (`iglu:vendor/name/format/M-R-A`). */
  schemaKey: string;
  /** Where the JSON came from, e.g. `unstruct_event`, `contexts`. */
  field: string;
  error: 'ValidationError' | 'ResolutionError';
  dataReports?: DataReport[];
  lookupHistory?: LookupAttempt[];
  schemaIssues?: SchemaIssue[];
}

/**
 * A violation as one of the `failure.messages` of Snowplow's `schema_violations` bad row (2-0-0):
 * `{schemaKey, error: {error: "ValidationError", dataReports}}`, `{schemaKey, error: {error:
 * "ResolutionError", lookupHistory}}` or `{schemaKey, error: {error: "ValidationError", schemaIssues}}`.
 */
export function badRowMessage(v: SchemaViolation): { schemaKey: string; error: Record<string, unknown> } {
  const error: Record<string, unknown> = { error: v.error };
  if (v.dataReports) error.dataReports = v.dataReports.map((d) => ({ message: d.message, path: d.path, keyword: d.keyword, targets: d.targets ?? null }));
  if (v.lookupHistory) error.lookupHistory = v.lookupHistory;
  if (v.schemaIssues) error.schemaIssues = v.schemaIssues;
  return { schemaKey: v.schemaKey, error };
}

export interface SchemaListing {
  key: string;
  vendor: string;
  name: string;
  format: string;
  version: string;
}

/** A put of a key that exists with different content: Iglu schemas are immutable. */
export class SchemaConflictError extends Error {
  /** The first (usually the only) key in conflict. */
  readonly key: string;

  constructor(readonly keys: string[]) {
    super(
      `${keys.length === 1 ? `schema ${keys[0]} exists` : `schemas ${keys.join(', ')} exist`} with different content; ` +
        'Iglu schemas are immutable: publish the change as a new version',
    );
    this.name = 'SchemaConflictError';
    this.key = keys[0];
  }
}

/** The repository name in lookup histories. */
export const REPOSITORY = 'beltline schema registry';

type Compiled = { validate: DataValidator } | { issues: SchemaIssue[] };

interface Row {
  key: string;
  vendor: string;
  name: string;
  format: string;
  version: string;
  model: number;
  revision: number;
  addition: number;
  schema: string;
}

function row(c: CheckedSchema): Row {
  const v = parseSchemaVer(c.key.version);
  if (!v) throw new InvalidSchemaError('self.version', `self.version ${JSON.stringify(c.key.version)} is not a SchemaVer`);
  return { key: schemaUri(c.key), ...c.key, model: v.model, revision: v.revision, addition: v.addition, schema: JSON.stringify(c.schema) };
}

const INSERT = `
  INSERT INTO schemas (key, vendor, name, format, version, model, revision, addition, schema)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::jsonb[])
  ON CONFLICT (key) DO NOTHING
  RETURNING key`;

function insertParams(rows: Row[]): unknown[] {
  return [
    rows.map((r) => r.key),
    rows.map((r) => r.vendor),
    rows.map((r) => r.name),
    rows.map((r) => r.format),
    rows.map((r) => r.version),
    rows.map((r) => r.model),
    rows.map((r) => r.revision),
    rows.map((r) => r.addition),
    rows.map((r) => r.schema),
  ];
}

/** Which of the rows' keys are stored; throws SchemaConflictError if any holds other content. */
async function storedAs(client: PoolClient, rows: Row[]): Promise<Set<string>> {
  const { rows: found } = await client.query<{ key: string; same: boolean }>(
    `SELECT s.key, s.schema = g.schema AS same FROM schemas s JOIN unnest($1::text[], $2::jsonb[]) AS g(key, schema) ON g.key = s.key ORDER BY s.key`,
    [rows.map((r) => r.key), rows.map((r) => r.schema)],
  );
  const differing = found.filter((r) => !r.same).map((r) => r.key);
  if (differing.length > 0) throw new SchemaConflictError(differing);
  return new Set(found.map((r) => r.key));
}

export class SchemaRegistry {
  private readonly ajv = createIgluAjv();
  /** Compiled validators by key (`iglu:…`). Keys are immutable, so an entry never goes stale. */
  private readonly compiled = new Map<string, Compiled>();

  constructor(private readonly pool: Pool) {}

  /** Compiles a checked schema; InvalidSchemaError names the key and the part at fault. */
  private compile(c: CheckedSchema): DataValidator {
    try {
      return compileIgluSchema(this.ajv, c.body);
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw new InvalidSchemaError(err.field, `${schemaUri(c.key)}: ${err.message}`, err.issues);
      throw err;
    }
  }

  /** Keeps a validator compiled from content known to be the stored one, or lets ajv drop it. */
  private keep(c: CheckedSchema, validate: DataValidator, stored: boolean): void {
    const key = schemaUri(c.key);
    if (stored && !this.compiled.has(key)) this.compiled.set(key, { validate });
    else this.ajv.removeSchema(c.body);
  }

  /**
   * Stores every schema of an Iglu folder; a key stored already with the same content is left alone,
   * one with different content fails the whole seed with SchemaConflictError (nothing is stored).
   * Only the schemas not stored yet are compiled (checked before they are stored): every process
   * seeds the shipped folder into every project at start, and compiling what is there already
   * took a tenth of a second per project for validators most roles never use (they are compiled
   * on first use). Returns how many schemas were added.
   */
  async seedFromDir(dir: string): Promise<number> {
    return this.seed(await readSchemaDir(dir));
  }

  /** seedFromDir for schemas read already (readSchemaDir): a start reads the shipped folder once for all projects. */
  async seed(schemas: readonly CheckedSchema[]): Promise<number> {
    if (schemas.length === 0) return 0;
    const rows = schemas.map(row);
    const fresh: { schema: CheckedSchema; row: Row; validate: DataValidator }[] = [];
    let stored = false;
    try {
      const added = await withTransaction(this.pool, async (client) => {
        const known = await storedAs(client, rows);
        schemas.forEach((schema, i) => {
          if (!known.has(rows[i].key)) fresh.push({ schema, row: rows[i], validate: this.compile(schema) });
        });
        if (fresh.length === 0) return 0;
        const missing = fresh.map((f) => f.row);
        const inserted = new Set((await client.query<{ key: string }>(INSERT, insertParams(missing))).rows.map((r) => r.key));
        // Stored since by a process seeding at the same moment: the same content, or a conflict.
        const raced = missing.filter((r) => !inserted.has(r.key));
        if (raced.length > 0) await storedAs(client, raced);
        return inserted.size;
      });
      stored = true;
      return added;
    } finally {
      for (const f of fresh) this.keep(f.schema, f.validate, stored);
    }
  }

  /**
   * Stores one self-describing schema after checking it (self-describing, `self` a well-formed key,
   * a valid draft-04 JSON Schema that compiles). The same content again is no change
   * (`created: false`); different content under an existing key throws SchemaConflictError.
   */
  async put(schema: unknown): Promise<{ key: string; created: boolean }> {
    const checked = checkSelfDescribingSchema(schema);
    const validate = this.compile(checked);
    const r = row(checked);
    let stored = false;
    try {
      const { rows } = await this.pool.query<{ key: string }>(INSERT, insertParams([r]));
      if (rows.length === 1) {
        // A new key: whatever was cached under it (nothing: misses are not cached) is replaced.
        this.compiled.delete(r.key);
        stored = true;
        return { key: r.key, created: true };
      }
      const { rows: same } = await this.pool.query<{ same: boolean }>('SELECT schema = $2::jsonb AS same FROM schemas WHERE key = $1', [r.key, r.schema]);
      // Schemas are never deleted, so a key that was there a moment ago still is.
      if (same.length === 0) throw new Error(`schema ${r.key} neither inserted nor found`);
      if (!same[0].same) throw new SchemaConflictError([r.key]);
      stored = true;
      return { key: r.key, created: false };
    } finally {
      this.keep(checked, validate, stored);
    }
  }

  /** The schema as stored, by `iglu:vendor/name/format/M-R-A` or `vendor/name/format/M-R-A`; undefined when unknown. */
  async get(key: string): Promise<unknown | undefined> {
    const parsed = parseSchemaKey(key);
    if (!parsed) return undefined;
    const { rows } = await this.pool.query<{ schema: unknown }>('SELECT schema FROM schemas WHERE key = $1', [schemaUri(parsed)]);
    return rows[0]?.schema;
  }

  /** Every schema's key, ordered by vendor, name, format and version (numerically). */
  async list(): Promise<SchemaListing[]> {
    const { rows } = await this.pool.query<SchemaListing>(
      'SELECT key, vendor, name, format, version FROM schemas ORDER BY vendor, name, format, model, revision, addition',
    );
    return rows;
  }

  /** Compiled validators for the keys, from the cache or from one query for all the others. */
  private async resolve(keys: string[]): Promise<Map<string, Compiled>> {
    const found = new Map<string, Compiled>();
    const missing: string[] = [];
    for (const k of keys) {
      const c = this.compiled.get(k);
      if (c) found.set(k, c);
      else missing.push(k);
    }
    if (missing.length === 0) return found;
    const { rows } = await this.pool.query<{ key: string; schema: unknown }>('SELECT key, schema FROM schemas WHERE key = ANY($1::text[])', [missing]);
    for (const r of rows) {
      let c: Compiled;
      try {
        c = { validate: compileIgluSchema(this.ajv, checkSelfDescribingSchema(r.schema).body) };
      } catch (err) {
        if (!(err instanceof InvalidSchemaError)) throw err;
        // Stored by other means than put (put checks): report it with each datum, as Snowplow does.
        c = { issues: err.issues };
      }
      this.compiled.set(r.key, c);
      found.set(r.key, c);
    }
    return found;
  }

  /**
   * Validates many self-describing JSONs at once: one array per item, [] when it is valid. Schemas not
   * compiled yet are fetched with one query for all of them; compiled validators are kept per key
   * (keys are immutable); unknown keys are looked up again next time (a put may add them).
   */
  async validate(items: { field: string; json: SelfDescribing }[]): Promise<SchemaViolation[][]> {
    const keyOf = (json: unknown): string | undefined => {
      if (!isSelfDescribingJson(json)) return undefined;
      const parsed = parseSchemaUri(json.schema);
      return parsed ? schemaUri(parsed) : undefined;
    };
    const keys = [...new Set(items.map((i) => keyOf(i.json)).filter((k): k is string => k !== undefined))];
    const compiled = await this.resolve(keys);
    const now = new Date().toISOString();
    // Bad rows cap a lookup error's message at 256 characters: the URI quoted in it is cut short.
    return items.map(({ field, json }): SchemaViolation[] => {
      const given = isSelfDescribingJson(json) ? json.schema : String((json as { schema?: unknown } | null)?.schema);
      const key = keyOf(json);
      if (!key) {
        const message = isSelfDescribingJson(json) ? `not an Iglu URI iglu:vendor/name/format/M-R-A: ${JSON.stringify(json.schema).slice(0, 200)}` : 'not self-describing JSON {schema, data}';
        return [{ schemaKey: given, field, error: 'ResolutionError', lookupHistory: [{ repository: REPOSITORY, errors: [{ error: 'ClientFailure', message }], attempts: 0, lastAttempt: now }] }];
      }
      const c = compiled.get(key);
      if (!c) return [{ schemaKey: given, field, error: 'ResolutionError', lookupHistory: [{ repository: REPOSITORY, errors: [{ error: 'NotFound' }], attempts: 1, lastAttempt: now }] }];
      if ('issues' in c) return [{ schemaKey: given, field, error: 'ValidationError', schemaIssues: c.issues }];
      const reports = c.validate(json.data);
      return reports.length === 0 ? [] : [{ schemaKey: given, field, error: 'ValidationError', dataReports: reports }];
    });
  }
}
