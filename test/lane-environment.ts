import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { TestEnvironment } from 'jest-environment-node';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { currentLane, laneEnv } from './support/lanes';

const LOCK_FILE = path.join(__dirname, '..', '.beltline', 'test-stack.lock');

/**
 * The integration tests' environment: the lane's names go into the worker's own process.env
 * (children a test spawns without an `env` inherit that one, not jest's copy), and each file holds
 * the stack lock while it runs: shared for most, exclusive for a file whose docblock says
 * `@stack exclusive` because it stops or kills a server the other lane is using.
 *
 * The lock is flock(1) held by a child that lives until its stdin closes, so a worker that dies
 * releases it with its child. Order is not fair, and need not be: each worker holds one lock at a
 * time, so nobody waits on themselves.
 */
export default class LaneEnvironment extends TestEnvironment {
  private readonly exclusive: boolean;
  private holder: ChildProcess | undefined;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    Object.assign(process.env, laneEnv(currentLane()));
    super(config, context);
    this.exclusive = context.docblockPragmas.stack === 'exclusive';
  }

  override async setup(): Promise<void> {
    await super.setup();
    fs.mkdirSync(path.dirname(LOCK_FILE), { recursive: true });
    const holder = spawn('flock', [this.exclusive ? '-x' : '-s', LOCK_FILE, '-c', 'echo locked; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.holder = holder;
    await new Promise<void>((resolve, reject) => {
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock on ${LOCK_FILE} exited (${code}) before it held the lock`)));
      holder.stdout?.once('data', () => resolve());
    });
  }

  override async teardown(): Promise<void> {
    const holder = this.holder;
    this.holder = undefined;
    if (holder && holder.exitCode === null) {
      const gone = new Promise<void>((resolve) => holder.once('exit', () => resolve()));
      holder.stdin?.end();
      await gone;
    }
    await super.teardown();
  }
}
