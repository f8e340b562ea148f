import { JSONPath } from 'jsonpath-plus';

/**
 * Regular expressions and JSON paths as recovery configurations write them (Snowplow's, made for
 * the JVM): Java's leading inline flags, and the `[?(@.a.b=~regex)]` filter, which jsonpath-plus
 * does not know. Pure.
 */

const JAVA_FLAGS: Record<string, string> = { i: 'i', m: 'm', s: 's', U: 'u', u: 'u', d: '' };

/** A Java-style regex (`(?U)^.*$`, `(?i)euro`) as a JavaScript RegExp; throws with the reason. */
export function javaRegex(source: string, global = false): RegExp {
  let body = source;
  let flags = global ? 'g' : '';
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (lead) {
    for (const f of lead[1]) {
      if (!(f in JAVA_FLAGS)) throw new Error(`inline flag (?${f}) is not supported (supported: i, m, s, u, U)`);
      if (JAVA_FLAGS[f] && !flags.includes(JAVA_FLAGS[f])) flags += JAVA_FLAGS[f];
    }
    body = body.slice(lead[0].length);
  }
  try {
    return new RegExp(body, flags);
  } catch (err) {
    throw new Error((err as Error).message.replace(/^Invalid regular expression: /, ''));
  }
}

/** The text a regex is matched against: a string as it is, anything else as its JSON. */
export function matchText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

export interface CompiledPath {
  /** The path jsonpath-plus evaluates. */
  path: string;
  /** Functions the rewritten filters call. */
  sandbox: Record<string, (v: unknown) => boolean>;
}

function get(v: unknown, keys: string[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Where a `=~` filter's regex ends: the `)]` that closes its `[?(`, parentheses counted. */
function filterEnd(path: string, from: number): number {
  let depth = 1;
  for (let i = from; i < path.length; i++) {
    const ch = path[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) {
        if (path[i + 1] !== ']') throw new Error(`the filter starting at character ${from} is not closed by ")]"`);
        return i;
      }
    }
  }
  throw new Error('a [?( filter is not closed');
}

/** jsonpath-plus's types say Map, but it reads the sandbox's properties: a plain object is what works. */
function asSandbox(s: CompiledPath['sandbox']): Map<string, unknown> {
  return s as unknown as Map<string, unknown>;
}

const REGEX_FILTER = /\[\?\(@((?:\.[A-Za-z0-9_$-]+)*)=~/g;

/**
 * Trims the path, checks it starts at `$`, and rewrites each `[?(@.a.b=~regex)]` (an element whose
 * value at a.b, a string as is and anything else as JSON, contains a match) into a call of a
 * sandboxed function. Throws with the reason when the path or one of its regexes is not valid.
 */
export function compilePath(raw: string): CompiledPath {
  const path = raw.trim();
  if (!path.startsWith('$')) throw new Error(`a JSON path starts with $: ${JSON.stringify(raw)}`);
  const sandbox: CompiledPath['sandbox'] = {};
  let out = '';
  let last = 0;
  REGEX_FILTER.lastIndex = 0;
  for (let m = REGEX_FILTER.exec(path); m; m = REGEX_FILTER.exec(path)) {
    const start = m.index + m[0].length;
    const end = filterEnd(path, start);
    const keys = m[1].split('.').filter(Boolean);
    let re: RegExp;
    try {
      re = javaRegex(path.slice(start, end));
    } catch (err) {
      throw new Error(`the filter regex ${JSON.stringify(path.slice(start, end))} is not valid: ${(err as Error).message}`);
    }
    const name = `__recoveryFilter${Object.keys(sandbox).length}`;
    sandbox[name] = (v: unknown) => {
      const x = get(v, keys);
      return x !== undefined && re.test(matchText(x));
    };
    out += `${path.slice(last, m.index)}[?(${name}(@))]`;
    last = end + 2;
    REGEX_FILTER.lastIndex = last;
  }
  out += path.slice(last);
  if (/[.[]$/.test(out) && out !== '$..') throw new Error(`the path ends in the middle of a step: ${JSON.stringify(raw)}`);
  try {
    JSONPath({ path: out, json: {}, wrap: true, sandbox: asSandbox(sandbox) });
  } catch (err) {
    throw new Error(`not a valid JSON path (${(err as Error).message}): ${JSON.stringify(raw)}`);
  }
  return { path: out, sandbox };
}

export interface PathMatch {
  /** The matched value's holder and key; null for the document itself. */
  parent: Record<string, unknown> | unknown[] | null;
  key: string | number | null;
  value: unknown;
  /** The location, written `$.a.b[0]`. */
  at: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function display(parts: (string | number)[]): string {
  let s = '$';
  for (const p of parts) {
    if (typeof p === 'number') s += `[${p}]`;
    else s += IDENTIFIER.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  }
  return s;
}

/** Every value a compiled path reaches in `json`, with where it sits. A filter that throws throws. */
export function queryPath(compiled: CompiledPath, json: unknown): PathMatch[] {
  const found = JSONPath({ path: compiled.path, json: json as object, wrap: true, sandbox: asSandbox(compiled.sandbox), resultType: 'all' }) as unknown as {
    value: unknown;
    parent: unknown;
    parentProperty: string | number | null;
    pointer: string;
  }[];
  return found.map((r) => {
    // The pointer (`/a/0/b`) names every step; numbers are array indexes where the holder is an array.
    const segments = r.pointer === '' ? [] : r.pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const parts: (string | number)[] = [];
    let cur: unknown = json;
    for (const s of segments) {
      const key = Array.isArray(cur) ? Number(s) : s;
      parts.push(key);
      cur = (cur as Record<string | number, unknown>)?.[key];
    }
    const parent = r.parent === null || r.parent === undefined || segments.length === 0 ? null : (r.parent as Record<string, unknown> | unknown[]);
    return { parent, key: parent === null ? null : parts[parts.length - 1], value: r.value, at: display(parts) };
  });
}
