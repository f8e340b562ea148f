import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { durationOrNull } from '../shared/durations';

/** Seed 000's update message ("PROFILESPECS"), with beltline's extra operations, as JSON Schema. */
export const UPDATE_SCHEMA = {
  type: 'object',
  required: ['_id'],
  properties: {
    _schema: { const: 'update_1' },
    _operation: { enum: ['_set', '_set_with_history', '_delete', '_increment', '_set_once', '_add_to_set', '_remove_from_set', '_link'] },
    _id: { type: 'string', minLength: 1 },
    _path: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
    _value: {
      type: 'object',
      properties: {
        _in: { anyOf: [{ type: 'number' }, { type: 'string', format: 'instant' }] },
        _c: { type: 'number', minimum: 0, maximum: 1 },
        _ttl: { type: 'string', format: 'iso-duration' },
        _ttn: { type: 'string', format: 'iso-duration' },
      },
    },
  },
  allOf: [
    {
      if: { properties: { _operation: { const: '_link' } }, required: ['_operation'] },
      then: { required: ['_value'], properties: { _value: { required: ['_v'], properties: { _v: { type: 'string', minLength: 1 } } } } },
      else: { required: ['_path'] },
    },
    {
      if: { properties: { _operation: { enum: ['_delete', '_link'] } }, required: ['_operation'] },
      else: { required: ['_value'], properties: { _value: { required: ['_v'] } } },
    },
    {
      if: { properties: { _operation: { const: '_increment' } }, required: ['_operation'] },
      then: { properties: { _value: { properties: { _v: { type: 'number' } } } } },
    },
  ],
} as const;

let compiled: ValidateFunction | undefined;

// Compiled on first use, not when the module loads: every role and CLI command loads this module,
// and the compile took a tenth of each process's start (most never check an update).
function validator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: false, strict: false });
  ajv.addFormat('iso-duration', { type: 'string', validate: (s: string) => durationOrNull(s) !== null });
  ajv.addFormat('instant', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
  compiled = ajv.compile(UPDATE_SCHEMA);
  return compiled;
}

/** The field an ajv error is about (`_value._v`), and what is wrong with it. */
function describe(e: ErrorObject): { field: string; message: string } {
  const base = e.instancePath.split('/').filter(Boolean).join('.');
  const missing = e.keyword === 'required' ? (e.params as { missingProperty: string }).missingProperty : undefined;
  const field = missing ? [base, missing].filter(Boolean).join('.') : base || 'update';
  if (missing) return { field, message: 'is required' };
  if (e.keyword === 'format') return { field, message: (e.params as { format: string }).format === 'iso-duration' ? 'must be an ISO-8601 duration such as P3M or PT30S' : 'must be epoch milliseconds or an ISO-8601 date' };
  if (e.keyword === 'anyOf') return { field, message: 'must be epoch milliseconds or an ISO-8601 date' };
  return { field, message: e.message ?? 'is not valid' };
}

/** The first problem of an update message, or undefined when it is valid. */
export function updateProblem(raw: unknown): { field: string; message: string } | undefined {
  const validate = validator();
  if (validate(raw)) return undefined;
  // The most specific error first: ajv reports if/then failures after the ones inside them.
  const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
  return describe(errors[0] ?? (validate.errors as ErrorObject[])[0]);
}
