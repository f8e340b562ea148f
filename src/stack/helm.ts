import fs from 'node:fs';
import path from 'node:path';
import { logger } from '../log';
import { cacheDir, hasCommand, installAtomically, runOrThrow, withLock } from './procs';

const log = logger('stack');

/**
 * The Helm CLI that renders and lints the chart in deploy/helm (the tests do). Built from its Go
 * module, which the Go module proxy serves: Helm's own download site is not reachable everywhere
 * beltline is built, the proxy is wherever Go works.
 */
export const HELM_VERSION = '4.3.2';
export const HELM_MODULE = `helm.sh/helm/v4/cmd/helm@v${HELM_VERSION}`;

export function helmInstallDir(): string {
  return path.join(cacheDir(), `helm-${HELM_VERSION}`);
}

/**
 * The environment of the build: GOPATH (the module downloads, ~200 MB) and GOCACHE (the compiled
 * packages, ~1.2 GB) inside the install's temporary folder, removed with it, and the binary into
 * its bin/. Nothing but the binary is kept: the build runs once per Helm version. `-modcacherw`
 * leaves the downloads writable so that removal works (Go makes them read-only). Pure.
 */
export function helmBuildEnv(tmp: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...env,
    GOPATH: path.join(tmp, 'gopath'),
    GOCACHE: path.join(tmp, 'gocache'),
    GOBIN: path.join(tmp, 'bin'),
    GOFLAGS: [env.GOFLAGS, '-modcacherw'].filter(Boolean).join(' '),
    CGO_ENABLED: '0',
  };
}

/**
 * Installs the Helm CLI into ~/.cache/beltline/helm-<version>/bin unless it is there, and returns
 * its path. A lock file makes a second caller (the chart test, while `npm test` builds it in the
 * background) wait for the build in progress instead of starting another.
 */
export async function installHelm(): Promise<string> {
  const dir = helmInstallDir();
  const bin = path.join(dir, 'bin', 'helm');
  if (!fs.existsSync(dir)) {
    // The wait may be long: on a busy 2-core machine the build at nice 19 takes well over 10 min.
    const lockWaitMs = 40 * 60_000;
    await withLock(`${dir}.lock`, async () => {
      await installAtomically(dir, async (tmp) => {
        if (!hasCommand('go')) throw new Error(`cannot build the Helm CLI: go is not installed (the chart test builds ${HELM_MODULE}; https://go.dev/dl/)`);
        log.info(`installing the Helm CLI: go install ${HELM_MODULE} into ${dir}`);
        // Lowest priority: it builds while the test suite runs and must not slow the tests down.
        // Without a symbol table and DWARF: a third smaller, and less for the linker to write.
        await runOrThrow('go', ['install', '-ldflags=-s -w', HELM_MODULE], { env: helmBuildEnv(tmp), background: true });
        for (const d of ['gopath', 'gocache']) fs.rmSync(path.join(tmp, d), { recursive: true, force: true });
        fs.writeFileSync(path.join(tmp, 'SOURCE'), `go install -ldflags='-s -w' ${HELM_MODULE}\n`);
        log.info(`Helm CLI installed with go install ${HELM_MODULE}`);
      });
    }, lockWaitMs);
  }
  if (!fs.existsSync(bin)) throw new Error(`${dir} has no bin/helm; remove the folder to reinstall`);
  return bin;
}
