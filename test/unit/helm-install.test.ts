import path from 'node:path';
import { HELM_MODULE, helmBuildEnv, helmInstallDir } from '../../src/stack/helm';

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
});
