import fs from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from '../config';
import { checkSelfDescribingSchema, InvalidSchemaError, parseSchemaPath, schemaPath, type CheckedSchema } from './iglu';

/** The Iglu folder shipped with beltline: `schemas/<vendor>/<name>/jsonschema/<M-R-A>`. */
export const SCHEMAS_DIR = path.join(REPO_ROOT, 'schemas');

async function subdirs(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * Reads an Iglu folder: every file at `<vendor>/<name>/<format>/<M-R-A>` (no extension), each a
 * self-describing schema whose `self` must match its place. Anything else (a README, dot files) is
 * skipped. Throws InvalidSchemaError naming the file for a malformed one.
 */
export async function readSchemaDir(dir: string): Promise<CheckedSchema[]> {
  const found: CheckedSchema[] = [];
  for (const vendor of await subdirs(dir)) {
    if (vendor.startsWith('.')) continue;
    for (const name of await subdirs(path.join(dir, vendor))) {
      for (const format of await subdirs(path.join(dir, vendor, name))) {
        const folder = path.join(dir, vendor, name, format);
        const files = (await fs.readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
        for (const version of files) {
          const key = parseSchemaPath(`${vendor}/${name}/${format}/${version}`);
          if (!key) continue;
          const file = path.join(folder, version);
          let json: unknown;
          try {
            json = JSON.parse(await fs.readFile(file, 'utf8'));
          } catch (err) {
            throw new InvalidSchemaError('schema', `${file}: not JSON (${(err as Error).message})`);
          }
          try {
            found.push(checkSelfDescribingSchema(json, key));
          } catch (err) {
            if (err instanceof InvalidSchemaError) throw new InvalidSchemaError(err.field, `${file} (${schemaPath(key)}): ${err.message}`, err.issues);
            throw err;
          }
        }
      }
    }
  }
  return found;
}
