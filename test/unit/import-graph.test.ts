import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config';

const SRC = path.join(REPO_ROOT, 'src');

/** The files `file` imports statically (`import … from './x'`, `export … from`), resolved. */
function staticImports(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
    if (hit) out.push(hit);
  }
  return out;
}

function reachable(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = entries.map((e) => path.join(SRC, e));
  while (todo.length > 0) {
    const f = todo.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    todo.push(...staticImports(f));
  }
  return seen;
}

describe('the runtime import graph', () => {
  it('reaches no dev-stack module from the server, the workflows or the CLI (they load it on demand)', () => {
    const files = reachable(['server.ts', 'workflows/index.ts', 'cli/index.ts']);
    expect(files.size).toBeGreaterThan(50);
    expect([...files].filter((f) => f.startsWith(path.join(SRC, 'stack') + path.sep)).map((f) => path.relative(SRC, f))).toEqual([]);
  });
});
