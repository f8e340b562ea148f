import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { GiveUp, waitUntil } from '../src/stack/procs';

/**
 * The bench's child processes: beltline's roles, the baseline consumer, the load generator.
 * Every child is registered here so that whatever ends the bench — a failed phase, an
 * exception, Ctrl-C — kills what it started and nothing else.
 */

export interface Child {
  name: string;
  pid: number;
  logFile?: string;
  proc: ChildProcess;
  /** null while it runs. */
  exitCode(): number | string | null;
  exited: Promise<void>;
}

const children = new Set<Child>();

function track(name: string, proc: ChildProcess, logFile?: string): Child {
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  let code: number | string | null = null;
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', (c, signal) => {
      code = c ?? signal ?? 'exited';
      children.delete(child);
      resolve();
    });
  });
  const child: Child = { name, pid: proc.pid, logFile, proc, exitCode: () => code, exited };
  children.add(child);
  return child;
}

/** A child whose stdout and stderr go to `logFile` (truncated first, unless `append`). */
export function spawnLogged(name: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, cwd: string, append = false): Child {
  const fd = fs.openSync(logFile, append ? 'a' : 'w');
  try {
    return track(name, spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] }), logFile);
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs a node script that prints one JSON line on success; stderr is kept for the error. */
export async function runJson<T>(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string, alsoWatch: () => void): Promise<{ result: T; pid: number }> {
  const proc = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const child = track(name, proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  // Fail early when a process the child talks to dies, rather than at some timeout later.
  const watcher = setInterval(() => {
    try {
      alsoWatch();
    } catch (e) {
      clearInterval(watcher);
      proc.kill('SIGKILL');
      err = `${(e as Error).message}\n${err}`;
    }
  }, 500);
  await child.exited;
  clearInterval(watcher);
  if (child.exitCode() !== 0) throw new Error(`${name} failed (exit ${String(child.exitCode())}): ${err.trim().slice(-2000)}`);
  const last = out.trim().split('\n').pop() ?? '';
  return { result: JSON.parse(last) as T, pid: child.pid };
}

/** SIGTERM, then SIGKILL after `graceMs`: a worker's shutdown may wait out a long poll. */
export async function stop(child: Child, graceMs = 10_000): Promise<void> {
  if (child.exitCode() !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c)));
}

// The last resort: an exit by any path still takes the children along.
process.on('exit', () => {
  for (const c of children) c.proc.kill('SIGKILL');
});

export function tail(file: string | undefined, lines = 15): string {
  if (!file) return '';
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Throws, naming the log, when any of these children has exited. */
export function assertRunning(list: readonly Child[]): void {
  for (const c of list) {
    const code = c.exitCode();
    if (code !== null) throw new Error(`${c.name} exited (${String(code)}); its log ${c.logFile ?? ''}:\n${tail(c.logFile)}`);
  }
}

// CPU accounting from /proc: utime + stime of every thread, in clock ticks.
let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function stat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/** A process, or (tree) a process with its direct children, as PostgreSQL's backends are. */
export interface Watched {
  label: string;
  pid: number;
  tree?: boolean;
}

export type CpuSnapshot = Map<string, Map<number, number>>;

export function cpuSnapshot(watched: readonly Watched[]): CpuSnapshot {
  const all = watched.some((w) => w.tree)
    ? fs
        .readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .map((d) => ({ pid: Number(d), s: stat(Number(d)) }))
    : [];
  const snap: CpuSnapshot = new Map();
  for (const w of watched) {
    const pids = new Map<number, number>();
    const own = stat(w.pid);
    if (own) pids.set(w.pid, own.ticks);
    if (w.tree) for (const p of all) if (p.s && p.s.ppid === w.pid) pids.set(p.pid, p.s.ticks);
    snap.set(w.label, pids);
  }
  return snap;
}

/**
 * CPU µs per event of each watched process between two snapshots. A process that appeared in
 * between counts from its start; one that ended in between is lost (PostgreSQL backends of
 * pooled connections live through a phase).
 */
export function cpuUsPerEvent(before: CpuSnapshot, after: CpuSnapshot, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, pids] of after) {
    let ticks = 0;
    for (const [pid, t] of pids) ticks += t - (before.get(label)?.get(pid) ?? 0);
    out[label] = Math.round(((ticks / clockTicks()) * 1e6) / events);
  }
  return out;
}

/**
 * Waits until `url` answers 200 with a body `check` accepts (src/stack's waitUntil); one of
 * `procs` exiting meanwhile fails at once. Throws naming `what` after 90 s.
 */
export async function answers(what: string, url: string, procs: readonly Child[], check: (body: string) => boolean): Promise<void> {
  await waitUntil(what, async () => {
    try {
      assertRunning(procs);
    } catch (err) {
      throw new GiveUp((err as Error).message);
    }
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 && check(await res.text());
  }, 90_000);
}
