import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parsePidFile } from './render';

export { parsePidFile };

/** Where installs are cached across checkouts and sessions: a versioned folder per tool. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'beltline');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it just is not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's NUL-separated command line, or undefined where /proc cannot tell. */
export function processCmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

export function readPid(file: string): number | undefined {
  try {
    return parsePidFile(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

export function portAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether an HTTP server answers at all (any status). */
export async function httpAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

export function tail(file: string, lines = 20): string {
  try {
    const text = fs.readFileSync(file, 'utf8').replace(/\n+$/, '');
    return text ? text.split('\n').slice(-lines).join('\n') : '(empty log)';
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it holds. `check` may throw to give up at once (e.g. the process died);
 * a rejection is otherwise "not yet".
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, logFile?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch (err) {
      if (err instanceof GiveUp) throw new Error(`${err.message}${logFile ? `; last lines of ${logFile}:\n${tail(logFile)}` : ''}`);
    }
    if (ok) return;
    if (Date.now() >= deadline) break;
    await sleep(300);
  }
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s${logFile ? `; last lines of ${logFile}:\n${tail(logFile)}` : ''}`);
}

/** Thrown from a `waitUntil` check to stop waiting. */
export class GiveUp extends Error {}

/** Starts a long-running process detached from this one (own process group), output to a log. */
export function spawnDetached(cmd: string, args: string[], opts: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<number> {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const out = fs.openSync(opts.logFile, 'a');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, detached: true, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    child.once('error', (err) => reject(new Error(`could not start ${cmd}: ${err.message}`)));
    child.once('spawn', () => {
      child.unref();
      resolve(child.pid as number);
    });
  });
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion without blocking the event loop (installs run side by side). */
export function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Keep the tail only: mvn and pip can be chatty, and only the end explains a failure.
    const keep = (s: string): string => (s.length > 200_000 ? s.slice(-100_000) : s);
    child.stdout.on('data', (d: Buffer) => (stdout = keep(stdout + d.toString())));
    child.stderr.on('data', (d: Buffer) => (stderr = keep(stderr + d.toString())));
    child.once('error', (err) => reject(new Error(`${cmd} failed to run: ${err.message}`)));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export async function runOrThrow(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.status !== 0) {
    // mvn reports errors on stdout, pip on stderr: keep the end of both.
    const output = [r.stderr.trim(), r.stdout.trim()].filter(Boolean).join('\n').slice(-3000);
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}:\n${output}`);
  }
  return r.stdout;
}

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
}

/** SIGTERM the process group (detached: the pid leads it), then SIGKILL what is left after the grace period. */
export async function terminate(pid: number, graceMs = 20_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) {
    signal('SIGKILL');
    const killDeadline = Date.now() + 10_000;
    while (isAlive(pid) && Date.now() < killDeadline) await sleep(100);
    if (isAlive(pid)) throw new Error(`pid ${pid} survived SIGKILL`);
  }
}

/**
 * Installs into `dir` through a temporary sibling and a rename, so an install cut off half-way is
 * redone rather than used. Two processes installing at once both finish; the first rename wins.
 */
export async function installAtomically(dir: string, install: (tmp: string) => Promise<void>): Promise<boolean> {
  if (fs.existsSync(dir)) return false;
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  // Leftovers of installs whose process was killed outright (no `finally` ran).
  const prefix = `${path.basename(dir)}.tmp-`;
  for (const name of fs.readdirSync(path.dirname(dir))) {
    const owner = name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : NaN;
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await install(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Someone else completed the same install meanwhile; theirs is as good as ours.
      if (!fs.existsSync(dir)) throw err;
    }
    return true;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Runs `fn` holding an exclusive lock file (which names our pid), so two `stack up` at once (a
 * test run's global setup and a developer's CLI) do not both start the same service. A lock
 * whose holder is dead is taken over.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 15 * 60_000): Promise<T> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readPid(file);
    let stale = holder !== undefined && !isAlive(holder);
    if (holder === undefined) {
      // Created but not yet written, or garbled: stale only once it has been so for a while.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      stale = age > 5000;
    }
    if (stale) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file} (held by pid ${holder ?? '?'})`);
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
