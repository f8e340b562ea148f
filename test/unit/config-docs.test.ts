import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, REPO_ROOT } from '../../src/config';

/** The variables named in the first column of the README's configuration table. */
function documented(): Set<string> {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## Configuration$/m)[1]?.split(/^## /m)[0];
  if (!section) throw new Error('README.md has no "## Configuration" section');
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1] ?? '';
    for (const m of first.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(m[1]);
  }
  return names;
}

describe('the configuration table', () => {
  it('documents every variable src/config.ts reads, and no other', () => {
    const docs = documented();
    expect(CONFIG_VARIABLES.filter((v) => !docs.has(v))).toEqual([]);
    expect([...docs].filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
  });
});
