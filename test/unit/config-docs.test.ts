import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, REPO_ROOT } from '../../src/config';

/** The variables named in the first column of the tables of docs/configuration.md. */
function documented(): Set<string> {
  const section = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

describe('docs/configuration.md', () => {
  it('documents every variable src/config.ts reads, and no other', () => {
    const docs = documented();
    expect(CONFIG_VARIABLES.filter((v) => !docs.has(v))).toEqual([]);
    expect([...docs].filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
  });
});
