import Ajv from 'ajv';
import addFormats from 'ajv-formats';

/**
 * The JSON Schema editor's checks, pure (no DOM): JSON syntax, then "is it a JSON Schema", each
 * problem placed in the text so the editor can underline it and the form can list it.
 */

export interface Range {
  from: number;
  to: number;
}

export interface Problem extends Range {
  message: string;
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * Reads JSON as JSON.parse does, remembering where each value is (by JSON Pointer), and, for
 * broken text, where it breaks: JSON.parse's own messages carry no position in every browser.
 */
export function locateJson(text: string): { value: unknown; ranges: Map<string, Range> } {
  const ranges = new Map<string, Range>();
  let pos = 0;
  const ws = (): void => {
    while (pos < text.length && ' \t\n\r'.includes(text[pos])) pos++;
  };
  const token = (re: RegExp): string | undefined => {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    pos += m[0].length;
    return m[0];
  };
  const expect = (ch: string, what: string): void => {
    ws();
    if (text[pos] !== ch) throw new JsonSyntaxError(`expected ${what}`, pos);
    pos++;
  };
  const value = (pointer: string): unknown => {
    ws();
    const from = pos;
    let v: unknown;
    const c = text[pos];
    if (c === '{') {
      pos++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[pos] === '}') pos++;
      else {
        for (;;) {
          ws();
          const keyAt = pos;
          const key = token(STRING);
          if (key === undefined) throw new JsonSyntaxError('expected a property name in double quotes', keyAt);
          const name = JSON.parse(key) as string;
          expect(':', "':' after the property name");
          obj[name] = value(`${pointer}/${escapePointer(name)}`);
          ws();
          if (text[pos] === ',') pos++;
          else if (text[pos] === '}') {
            pos++;
            break;
          } else throw new JsonSyntaxError("expected ',' or '}'", pos);
        }
      }
      v = obj;
    } else if (c === '[') {
      pos++;
      const arr: unknown[] = [];
      ws();
      if (text[pos] === ']') pos++;
      else {
        for (;;) {
          arr.push(value(`${pointer}/${arr.length}`));
          ws();
          if (text[pos] === ',') pos++;
          else if (text[pos] === ']') {
            pos++;
            break;
          } else throw new JsonSyntaxError("expected ',' or ']'", pos);
        }
      }
      v = arr;
    } else if (c === '"') {
      const s = token(STRING);
      if (s === undefined) throw new JsonSyntaxError('unterminated string, or a control character or bad escape in it', pos);
      v = JSON.parse(s);
    } else {
      const lit = token(LITERAL) ?? token(NUMBER);
      if (lit === undefined) throw new JsonSyntaxError(pos >= text.length ? 'unexpected end of the text: a value is missing' : 'expected a value (object, array, string, number, true, false or null)', pos);
      v = JSON.parse(lit);
    }
    ranges.set(pointer, { from, to: pos });
    return v;
  };
  const v = value('');
  ws();
  if (pos < text.length) throw new JsonSyntaxError('unexpected text after the JSON value', pos);
  return { value: v, ranges };
}

/** `line L, column C` of an offset, 1-based, as people count. */
export function lineColumn(text: string, at: number): string {
  const before = text.slice(0, at).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}`;
}

// beltline compiles a live segment's schema with ajv's default draft (07), `$schema` removed and
// not strict (src/segments/columns.ts): the editor judges by the same rules as the server.
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);

function allowed(params: Record<string, unknown>): string {
  const values = params.allowedValues;
  return Array.isArray(values) ? ` (${values.map((v) => JSON.stringify(v)).join(', ')})` : '';
}

/**
 * Everything wrong with a JSON Schema's text, placed where it can be: a syntax error at the
 * character, a meta-schema violation on the offending value; compile errors (an unresolvable
 * `$ref`, …) carry no place and mark the whole document. `extra` adds the caller's own rules.
 */
export function schemaProblems(text: string, extra?: (schema: Record<string, unknown>, ranges: Map<string, Range>) => Problem[]): Problem[] {
  if (text.trim() === '') return [{ from: 0, to: 0, message: 'the schema is empty: a JSON Schema is a JSON object' }];
  let located: { value: unknown; ranges: Map<string, Range> };
  try {
    located = locateJson(text);
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    const at = Math.min(err.at, text.length);
    return [{ from: at, to: Math.min(at + 1, text.length), message: `not valid JSON: ${err.message} (${lineColumn(text, at)})` }];
  }
  const { value, ranges } = located;
  const whole = { from: 0, to: text.length };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [{ ...whole, message: 'not a JSON Schema: it must be a JSON object' }];
  const schema = { ...(value as Record<string, unknown>) };
  delete schema.$schema;
  if (!ajv.validateSchema(schema)) {
    const seen = new Set<string>();
    const problems: Problem[] = [];
    for (const e of ajv.errors ?? []) {
      // anyOf/oneOf add a summary line ("must match a schema in anyOf") for what their branches said.
      if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
      const message = `not a valid JSON Schema: ${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}${allowed(e.params)}`;
      if (seen.has(message)) continue;
      seen.add(message);
      problems.push({ ...(ranges.get(e.instancePath) ?? whole), message });
    }
    return problems;
  }
  try {
    ajv.compile(schema);
  } catch (err) {
    return [{ ...whole, message: `not a valid JSON Schema: ${(err as Error).message}` }];
  } finally {
    // Compiled only to check: a schema with an `$id` would otherwise stay registered and the next
    // check of the same text would fail with "already exists".
    ajv.removeSchema(schema);
  }
  return extra ? extra(schema, ranges) : [];
}

/** The text pretty-printed (two spaces), or undefined when it is not JSON. */
export function formatJson(text: string): string | undefined {
  try {
    return `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
  } catch {
    return undefined;
  }
}
