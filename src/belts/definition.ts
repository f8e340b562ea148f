import crypto from 'node:crypto';
import { isObject } from '../shared/json';
import fs from 'node:fs/promises';
import path from 'node:path';
import type * as TS from 'typescript';
import { z } from 'zod';
import { DefinitionError } from '../shared/errors';
import { DEFAULT_PROJECT, projectScoped } from '../projects/names';

/** A belt as seed 001's API body describes it, from the API or the belts folder. */
export const beltDefinitionSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, _ . - (at most 63)'),
  beltType: z.enum(['js-callback', 'python-callback']).default('js-callback'),
  eventTypes: z.array(z.string().min(1)).min(1),
  outputTypes: z.array(z.object({ name: z.string().min(1), version: z.string().default('latest') })).default([]),
  extractorFn: z.string().min(1),
  /**
   * Seed 000's scale factor: a belt with one runs on a task queue of its own, `scale` activities
   * at a time per worker polling it (`beltline start --role worker --belt NAME` adds workers).
   * Without one it runs inside each batch's step, the fastest path.
   */
  scale: z.number().int().min(1).max(64).optional(),
});

export type BeltDefinition = z.infer<typeof beltDefinitionSchema>;

export interface BeltRef {
  name: string;
  version: string;
}

/**
 * Validates an API body; the error names the field (zod's path). Fields beyond the seed's
 * (e.g. its "redacted unimportant belt configuration") are ignored.
 */
export function parseBeltBody(body: unknown, fixedName?: string): BeltDefinition {
  const input = isObject(body) ? { ...body, ...(fixedName ? { name: fixedName } : {}) } : body;
  const parsed = beltDefinitionSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DefinitionError(issue.path.join('.') || 'body', issue.message);
  }
  return parsed.data;
}

let tsModule: typeof TS | undefined;
/** TypeScript is megabytes of JavaScript: loaded on first use, not by every CLI command that imports this module. */
function typescript(): typeof TS {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (tsModule ??= require('typescript') as typeof TS);
}

/**
 * The JavaScript a js-callback belt runs: TypeScript is accepted and its types stripped. A syntax
 * error is reported with line and column.
 */
export function javascriptSource(def: BeltDefinition): string {
  const ts = typescript();
  const out = ts.transpileModule(def.extractorFn, {
    fileName: `${def.name}.ts`,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None, removeComments: false },
  });
  const syntax = (out.diagnostics ?? []).find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax) {
    const pos = syntax.file && syntax.start !== undefined ? syntax.file.getLineAndCharacterOfPosition(syntax.start) : undefined;
    const where = pos ? ` at line ${pos.line + 1}, column ${pos.character + 1}` : '';
    throw new DefinitionError('extractorFn', `syntax error${where}: ${ts.flattenDiagnosticMessageText(syntax.messageText, ' ')}`);
  }
  return out.outputText;
}

/** A version is the hash of the definition, so the same definition always has the same version. */
export function beltVersion(def: BeltDefinition): string {
  const canonical = JSON.stringify([def.name, def.beltType, def.eventTypes, def.outputTypes, def.extractorFn]);
  return crypto.createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * Task queue of one belt of a project: its activities run only on workers polling it, `scale` at
 * a time. The default project's keep their names; another project's end in `@<project>`.
 */
export function beltTaskQueue(baseQueue: string, beltName: string, project: string = DEFAULT_PROJECT): string {
  return projectScoped(`${baseQueue}-belt-${beltName}`, project);
}

/**
 * Loads `<name>.js` + `<name>.json` pairs from a folder: the JSON holds the definition's fields
 * except `extractorFn`, which is the JavaScript file's text, so belts stay readable source files.
 */
export async function loadBeltsFromDir(dir: string): Promise<BeltDefinition[]> {
  const entries = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const defs: BeltDefinition[] = [];
  for (const file of entries.filter((f) => f.endsWith('.json')).sort()) {
    const base = file.slice(0, -'.json'.length);
    const meta: unknown = JSON.parse(await fs.readFile(path.join(dir, file), 'utf8'));
    const extractorFn = await fs.readFile(path.join(dir, `${base}.js`), 'utf8');
    const parsed = beltDefinitionSchema.safeParse({ name: base, ...(meta as object), extractorFn });
    if (!parsed.success) {
      const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'belt'}: ${i.message}`).join('; ');
      throw new Error(`belt ${path.join(dir, file)}: ${why}`);
    }
    defs.push(parsed.data);
  }
  return defs;
}
