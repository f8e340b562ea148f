import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { loadConfig, REPO_ROOT } from '../../src/config';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
export const FIXTURE_BELTS = path.join(REPO_ROOT, 'test', 'fixtures', 'belts');
export const ADMIN_KEY = 'test-admin-key-not-a-secret';

/**
 * Runs the built CLI as a user would, without blocking the event loop (a beltline child's output
 * keeps flowing); resolves with its exit code and output whatever the code.
 */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn', ...env }, maxBuffer: 10_000_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Calls an admin route with the tests' admin key. */
export function admin(base: string, method: string, route: string, body?: unknown): Promise<Response> {
  return fetch(`${base}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The plain-JSON event type the fixture belt `counter` takes: ids and user come from the payload. */
export const TEST_JSON_TYPE = {
  name: 'test-json',
  displayName: 'Test JSON events',
  type: 'data_in',
  eventIdExpression: '$.eventId',
  timestampExpression: '#nowMillis()',
  correlationIdExpression: '$.correlationId',
  eventstoreTTL: 'P1D',
};

/** Creates an event type unless it exists. */
export async function ensureEventType(base: string, body: { name: string } & Record<string, unknown>): Promise<void> {
  const res = await admin(base, 'POST', '/projects/default/event-types', body);
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating event type ${body.name}: ${res.status} ${await res.text()}`);
}

export interface BeltlineProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed, for failure messages. */
  output(): string;
  /** `kill -9`: no shutdown hook runs. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** Integration tests run the built CLI, as users do; `npm test` builds before jest. */
export function assertBuilt(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run the tests with \`npm test\`, which builds first`);
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Starts `beltline start` with the given roles (with `belt`: `--belt NAME`, a worker of that belt's
 * task queue alone, of `project` when given) and waits until it says it is running (or prints `until`).
 */
export async function startBeltline(opts: { roles?: string[]; belt?: string; project?: string; env?: Record<string, string>; port?: number; until?: string } = {}): Promise<BeltlineProcess> {
  assertBuilt();
  const port = opts.port ?? Number(process.env.BELTLINE_TEST_DEFAULT_PORT ?? 18080);
  const roles = opts.roles ?? ['all'];
  const child = spawn(process.execPath, ['--no-node-snapshot', CLI, 'start', '--role', ...roles, ...(opts.belt ? ['--belt', opts.belt] : []), ...(opts.project ? ['--project', opts.project] : [])], {
    env: { ...process.env, BELTLINE_HTTP_PORT: String(port), BELTLINE_BELTS_DIR: FIXTURE_BELTS, BELTLINE_ADMIN_KEY: ADMIN_KEY, BELTLINE_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Do not leave a half-started process holding its port for the next test.
      child.kill('SIGKILL');
      reject(new Error(`beltline did not start within 90 s:\n${out.slice(-3000)}`));
    }, 90_000);
    const check = (): void => {
      if (out.includes(opts.until ?? 'beltline running')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`beltline exited (${code ?? signal}) before it was running:\n${out.slice(-3000)}`));
    });
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
}

export function testPool(): Pool {
  const pool = new Pool({ connectionString: loadConfig().databaseUrl, max: 2, options: '-c search_path=beltline,public' });
  // An idle client's connection may be ended by the server (a test restarting PostgreSQL, the
  // run's database being dropped); the next query reconnects, so this must not crash jest.
  pool.on('error', () => undefined);
  return pool;
}

/** Polls until `check` returns a value other than undefined, or fails with the last state. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
