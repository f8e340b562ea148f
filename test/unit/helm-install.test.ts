import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HELM_MODULE, helmBuildEnv, helmInstallDir, installHelm } from '../../src/stack/helm';

describe('the Helm CLI install', () => {
  it('goes into a versioned folder of beltline\'s cache', () => {
    expect(helmInstallDir()).toMatch(/[/\\]beltline[/\\]helm-4\.3\.2$/);
    expect(HELM_MODULE).toBe('helm.sh/helm/v4/cmd/helm@v4.3.2');
  });

  it('builds with downloads and build cache inside the temporary folder, keeping GOFLAGS already set', () => {
    const env = helmBuildEnv('/tmp/x', { PATH: '/usr/bin', GOFLAGS: '-buildvcs=false', GOCACHE: '/elsewhere' });
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      GOPATH: path.join('/tmp/x', 'gopath'),
      GOCACHE: path.join('/tmp/x', 'gocache'),
      GOBIN: path.join('/tmp/x', 'bin'),
      GOFLAGS: '-buildvcs=false -modcacherw',
    });
    expect(helmBuildEnv('/tmp/x', {}).GOFLAGS).toBe('-modcacherw');
  });

  it('waits for a build another process is running instead of starting a second one', async () => {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-helm-cache-'));
    const before = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache;
    try {
      const dir = helmInstallDir();
      fs.mkdirSync(path.dirname(dir), { recursive: true });
      // `npm test`'s background build holds the lock (a live pid: this one) ...
      fs.writeFileSync(`${dir}.lock`, `${process.pid}\n`);
      const installed = installHelm();
      await new Promise((r) => setTimeout(r, 600));
      // ... and finishes: its binary appears, the lock goes.
      fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'bin', 'helm'), '');
      fs.rmSync(`${dir}.lock`);
      expect(await installed).toBe(path.join(dir, 'bin', 'helm'));
      // No build of its own was started: it would have left a temporary folder beside the install.
      expect(fs.readdirSync(path.dirname(dir))).toEqual(['helm-4.3.2']);
    } finally {
      if (before === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = before;
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });
});
