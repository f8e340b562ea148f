import { z } from 'zod';
import type { BadRowType } from '../badrows/format';
import { compilePath, javaRegex } from './paths';

/**
 * A recovery configuration in Snowplow's shape (seed 002): flows keyed by bad-row type, each
 * `{name, conditions, steps}`. Conditions (`Test`) look at the bad row from its root
 * (`$.processor.artifact`, `$.failure…`, `$.payload…`); steps edit its payload (`$.raw.parameters.aid`).
 * Everything is checked up front, and an error names the flow and step. Pure.
 */

export const CAST_TYPES = ['Numeric', 'Boolean', 'String', 'Array'] as const;
export type CastType = (typeof CAST_TYPES)[number];

export const BAD_ROW_TYPES: readonly BadRowType[] = [
  'collector_payload_format_violation',
  'tracker_protocol_violations',
  'adapter_failures',
  'schema_violations',
  'size_violation',
];

export interface SizeMatcher {
  eq?: number;
  gt?: number;
  lt?: number;
}

export type Matcher = { value: unknown } | { regex: string } | { size: SizeMatcher };

export interface TestCondition {
  op: 'Test';
  path: string;
  value: Matcher;
}

export type Step =
  | { op: 'Replace'; path: string; match: string; value: unknown }
  | { op: 'Remove'; path: string; match: string }
  | { op: 'Cast'; path: string; from: CastType; to: CastType };

export interface Flow {
  name: string;
  conditions: TestCondition[];
  steps: Step[];
}

export interface FlowSet {
  /** As written: a bad-row type, or its Iglu URI (`iglu:com.snowplowanalytics.snowplow.badrows/<type>/jsonschema/1-0-*`). */
  key: string;
  type: BadRowType;
  /** A version pattern from an Iglu key (`2-0-*`), or undefined for any. */
  version?: string;
  flows: Flow[];
}

export interface RecoveryConfig {
  flowSets: FlowSet[];
}

export class RecoveryConfigError extends Error {
  override name = 'RecoveryConfigError';
}

const BADROW_URI = /^iglu:com\.snowplowanalytics\.snowplow\.badrows\/([a-z_]+)\/jsonschema\/((?:\d+|\*)-(?:\d+|\*)-(?:\d+|\*))$/;
const RECOVERIES_URI = /^iglu:com\.snowplowanalytics\.snowplow\/recoveries\/jsonschema\/\d+-\d+-\d+$/;

const nonEmpty = z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' });
const castType = z.enum(CAST_TYPES, { error: `must be one of ${CAST_TYPES.join(', ')}` });
const limit = z.number({ error: 'must be a number' });

const conditionSchema = z.strictObject({
  op: z.literal('Test', { error: 'must be "Test"' }),
  path: nonEmpty,
  value: z.record(z.string(), z.unknown(), { error: 'must be an object: {"value": …}, {"regex": …} or {"size": {…}}' }),
});

const stepSchemas = {
  Replace: z.strictObject({ op: z.literal('Replace'), path: nonEmpty, match: nonEmpty, value: z.unknown().refine((v) => v !== undefined, { error: 'is required' }) }),
  Remove: z.strictObject({ op: z.literal('Remove'), path: nonEmpty, match: nonEmpty }),
  Cast: z.strictObject({ op: z.literal('Cast'), path: nonEmpty, from: castType, to: castType }),
} as const;

function firstIssue(err: z.ZodError, input: unknown): string {
  const issue = err.issues[0];
  const found = issue.path.reduce<unknown>((cur, k) => (typeof cur === 'object' && cur !== null ? (cur as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), input);
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  const field = issue.path.length > 0 ? `${issue.path.map((p) => JSON.stringify(String(p))).join('.')} ` : '';
  const message = issue.path.length > 0 && found === undefined ? 'is required' : issue.message;
  return `${field}${message}`;
}

function checkPath(path: string, where: string): void {
  try {
    compilePath(path);
  } catch (err) {
    throw new RecoveryConfigError(`${where}: "path" ${(err as Error).message}`);
  }
}

function checkRegex(source: string, field: string, where: string): void {
  try {
    javaRegex(source);
  } catch (err) {
    throw new RecoveryConfigError(`${where}: "${field}" is not a valid regular expression (${(err as Error).message}): ${JSON.stringify(source)}`);
  }
}

function parseMatcher(v: Record<string, unknown>, where: string): Matcher {
  const keys = Object.keys(v);
  if (keys.length !== 1 || !['value', 'regex', 'size'].includes(keys[0])) {
    throw new RecoveryConfigError(`${where}: "value" must have exactly one of "value", "regex" or "size" (found ${keys.length ? keys.map((k) => JSON.stringify(k)).join(', ') : 'none'})`);
  }
  if ('regex' in v) {
    const r = nonEmpty.safeParse(v.regex);
    if (!r.success) throw new RecoveryConfigError(`${where}: "value.regex" ${r.error.issues[0].message}`);
    checkRegex(r.data, 'value.regex', where);
    return { regex: r.data };
  }
  if ('size' in v) {
    const s = z.strictObject({ eq: limit.optional(), gt: limit.optional(), lt: limit.optional() }, { error: 'must be an object with "eq", "gt" or "lt"' }).safeParse(v.size);
    if (!s.success) throw new RecoveryConfigError(`${where}: "value.size" ${firstIssue(s.error, v.size)}`);
    if (s.data.eq === undefined && s.data.gt === undefined && s.data.lt === undefined) throw new RecoveryConfigError(`${where}: "value.size" needs one of "eq", "gt" or "lt"`);
    return { size: s.data };
  }
  return { value: v.value };
}

function parseCondition(raw: unknown, where: string): TestCondition {
  const r = conditionSchema.safeParse(raw);
  if (!r.success) throw new RecoveryConfigError(`${where}: ${firstIssue(r.error, raw)}`);
  checkPath(r.data.path, where);
  return { op: 'Test', path: r.data.path, value: parseMatcher(r.data.value, where) };
}

function parseStep(raw: unknown, flowWhere: string, n: number): Step {
  const op = typeof raw === 'object' && raw !== null ? (raw as { op?: unknown }).op : undefined;
  if (typeof op !== 'string' || !(op in stepSchemas)) {
    throw new RecoveryConfigError(`${flowWhere} step ${n}: "op" must be one of Replace, Remove, Cast${typeof op === 'string' ? ` (found ${JSON.stringify(op)})` : ''}`);
  }
  const where = `${flowWhere} step ${n} (${op})`;
  const r = stepSchemas[op as keyof typeof stepSchemas].safeParse(raw);
  if (!r.success) throw new RecoveryConfigError(`${where}: ${firstIssue(r.error, raw)}`);
  const step = r.data as Step;
  checkPath(step.path, where);
  if (step.op !== 'Cast') checkRegex(step.match, 'match', where);
  else if (step.from === step.to) throw new RecoveryConfigError(`${where}: "from" and "to" are both ${step.from}`);
  return step;
}

function parseFlow(raw: unknown, key: string, i: number, names: Set<string>): Flow {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new RecoveryConfigError(`${key} flow ${i + 1}: must be an object {name, conditions, steps}`);
  const f = raw as Record<string, unknown>;
  const name = nonEmpty.safeParse(f.name);
  if (!name.success) throw new RecoveryConfigError(`${key} flow ${i + 1}: "name" ${name.error.issues[0].message}`);
  const where = `flow "${name.data}"`;
  if (names.has(name.data)) throw new RecoveryConfigError(`${where}: the name is used by another flow`);
  names.add(name.data);
  const unknown = Object.keys(f).filter((k) => !['name', 'conditions', 'steps'].includes(k));
  if (unknown.length > 0) throw new RecoveryConfigError(`${where}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const conditions = f.conditions ?? [];
  if (!Array.isArray(conditions)) throw new RecoveryConfigError(`${where}: "conditions" must be an array`);
  if (!Array.isArray(f.steps)) throw new RecoveryConfigError(`${where}: "steps" must be an array`);
  return {
    name: name.data,
    conditions: conditions.map((c, j) => parseCondition(c, `${where} condition ${j + 1}`)),
    steps: f.steps.map((s, j) => parseStep(s, where, j + 1)),
  };
}

function parseKey(key: string): { type: BadRowType; version?: string } {
  const uri = BADROW_URI.exec(key);
  const type = (uri ? uri[1] : key) as BadRowType;
  if (!BAD_ROW_TYPES.includes(type)) {
    throw new RecoveryConfigError(`${JSON.stringify(key)} is not a bad-row type: use one of ${BAD_ROW_TYPES.join(', ')} (or its Iglu URI, iglu:com.snowplowanalytics.snowplow.badrows/<type>/jsonschema/<version>)`);
  }
  return { type, version: uri && uri[2] !== '*-*-*' ? uri[2] : undefined };
}

/**
 * Parses and checks a whole configuration: `{"<bad-row type>": [flow, …], …}`, optionally inside
 * Snowplow's `{"schema": "iglu:…/recoveries/jsonschema/…", "data": {…}}`. Throws a
 * RecoveryConfigError naming the flow and step at fault.
 */
export function parseRecoveryConfig(raw: unknown): RecoveryConfig {
  let body = raw;
  if (typeof body === 'object' && body !== null && 'schema' in body && 'data' in body) {
    const { schema, data } = body as { schema: unknown; data: unknown };
    if (typeof schema !== 'string' || !RECOVERIES_URI.test(schema)) {
      throw new RecoveryConfigError(`"schema" must be iglu:com.snowplowanalytics.snowplow/recoveries/jsonschema/<version> (found ${JSON.stringify(schema)})`);
    }
    body = data;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RecoveryConfigError('a recovery configuration is an object of flows keyed by bad-row type');
  const names = new Set<string>();
  const flowSets = Object.entries(body as Record<string, unknown>).map(([key, flows]): FlowSet => {
    const { type, version } = parseKey(key);
    if (!Array.isArray(flows)) throw new RecoveryConfigError(`${key}: must be an array of flows`);
    return { key, type, version, flows: flows.map((f, i) => parseFlow(f, key, i, names)) };
  });
  if (flowSets.length === 0) throw new RecoveryConfigError('the configuration has no flows');
  return { flowSets };
}

/** The text of a configuration file: JSON, with the error's position when it is not. */
export function parseRecoveryConfigText(text: string): RecoveryConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RecoveryConfigError(`not JSON: ${(err as Error).message}`);
  }
  return parseRecoveryConfig(json);
}

/** The flows that apply to a bad row of this schema (`iglu:…badrows/<type>/jsonschema/<M-R-A>`), in configuration order. */
export function flowsFor(config: RecoveryConfig, type: string, schema: string): Flow[] {
  const version = schema.split('/').pop() ?? '';
  return config.flowSets
    .filter((s) => s.type === type && (!s.version || s.version.split('-').every((p, i) => p === '*' || p === version.split('-')[i])))
    .flatMap((s) => s.flows);
}
