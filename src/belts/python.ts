import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, promises as fs, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { BeltCompileError, type BeltError, type BeltInput, type BeltResult, type SandboxLimits } from './sandbox';
import { isObject as isRecord } from '../shared/json';

/**
 * `python-callback` belts: a pool of python3 worker processes running seed-style callbacks
 * unchanged (`execute(event)` with seed 000's envelope, or `execute(headers, payload, profile=None)`),
 * with the JavaScript sandbox's semantics and result shapes (src/belts/sandbox.ts).
 *
 * What is enforced, and what is not (best effort; belts are untrusted):
 * - Always: an empty environment, cwd in an empty root-owned folder, `python -I -S -B` (no
 *   site-packages, no PYTHON* variables, no bytecode writes) with only the grnry_belt shim added to
 *   sys.path; a CPU budget per event (ITIMER_PROF in the worker → kind 'timeout'); an address-space
 *   limit per process (RLIMIT_AS = memoryMb for the whole interpreter → MemoryError → kind
 *   'memory'); and here a wall-time guard that SIGKILLs a worker whose event runs past
 *   3 × timeoutMs (blocking calls, long C loops, a belt that swallows the timeout), fails that event
 *   with kind 'timeout' and goes on with the batch on a fresh process.
 * - In the worker itself (python/worker.py): Landlock (the file system is
 *   read-only beneath the Python installation, the library folders and the shim, and closed
 *   elsewhere: /etc/passwd, the repository, /tmp, /proc cannot be opened; TCP bind/connect denied;
 *   signals and abstract unix sockets scoped), a seccomp filter (no sockets, fork/clone/exec,
 *   ptrace, signals to any process, mounts, namespaces, bpf, io_uring, uid or rlimit changes) and
 *   rlimits (no processes or threads, no file growth, no core dumps, 64 fds). A worker that could
 *   not apply Landlock or seccomp (an old kernel, a container that forbids them) runs no belt:
 *   the pool throws PythonUnconfinedError unless BELTLINE_PYTHON_UNCONFINED=true allows it.
 * - When the pool runs as root: each worker starts in a fresh network namespace without interfaces
 *   (`unshare --net`) and as uid/gid 65534 with no supplementary groups and no_new_privs
 *   (`setpriv`). If the configured python cannot be run by that user (e.g. pyenv under /root), a
 *   system python3 is used instead; if none works, the worker stays root (reported in
 *   `isolation()`'s notEnforced).
 * - Not enforced: belts run in the same processes one after the other, so a belt can alter
 *   interpreter state (monkey-patch modules, leave globals) that later batches of other belts in the
 *   same pool see — give mutually distrusting belts their own pools. A belt can read what the
 *   interpreter can (the Python installation, /usr), can burn up to 3 × timeoutMs of wall time per
 *   event, and can write garbage to the protocol fds (the reply is validated; a bad reply fails
 *   its batch). Memory is limited as address space, not resident memory.
 */

export interface PythonPoolOptions {
  /** Worker processes, default 2. */
  processes?: number;
  /** memoryMb: address space per worker process (default 128); timeoutMs: CPU budget per event (default 1000). */
  limits?: SandboxLimits;
  /** Python interpreter, default 'python3'. */
  python?: string;
  /**
   * Run belts even where the worker could not apply Landlock or seccomp. Default: the
   * BELTLINE_PYTHON_UNCONFINED setting (false), read here so that every pool — worker, admin API
   * checks, CLI, bench — follows it.
   */
  allowUnconfined?: boolean;
}

/** Python belts cannot run here: the sandbox could not be applied and running unconfined is not allowed. */
export class PythonUnconfinedError extends Error {
  override name = 'PythonUnconfinedError';
}

/** The setting that lets Python belts run without their sandbox; documented in docs/configuration.md. */
export const UNCONFINED_SETTING = 'BELTLINE_PYTHON_UNCONFINED';

/**
 * Why a worker that reported `ready` must not run belts, or null. Landlock and seccomp are what
 * keep a belt from reading the host's files and from opening sockets, spawning processes or
 * signalling others; without either, belts are refused unless explicitly allowed.
 */
export function unconfinedRefusal(ready: { landlock: number | null; seccomp: number | null; errors?: string[] }, allowUnconfined: boolean): string | null {
  if (allowUnconfined) return null;
  const missing = [!ready.landlock && 'Landlock', !ready.seccomp && 'seccomp'].filter((m): m is string => typeof m === 'string');
  if (missing.length === 0) return null;
  const why = (ready.errors ?? []).filter((e) => /^(landlock|seccomp):/.test(e));
  return (
    `python belts refuse to run unconfined: the worker could not apply ${missing.join(' and ')}` +
    `${why.length ? ` (${why.join('; ')})` : ''}; set ${UNCONFINED_SETTING}=true to run them without it`
  );
}

/** Which isolation measures the workers run under on this machine. */
export interface PythonIsolation {
  /** The interpreter the workers run. */
  python: string;
  /** The worker command line, without the worker's own arguments. */
  command: string[];
  enforced: string[];
  notEnforced: string[];
}

export const DEFAULT_PYTHON_LIMITS: SandboxLimits = { memoryMb: 128, timeoutMs: 1000 };

const READY_TIMEOUT_MS = 15_000;
const WALL_FACTOR = 3;
const NOBODY = 65534;
const STDERR_KEPT = 4096;
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

interface SyntaxInfo {
  type: string;
  msg: string;
  lineno: number | null;
  offset: number | null;
  text: string | null;
  formatted: string | null;
}

interface WireError {
  kind: BeltError['kind'];
  message?: string;
  stack?: string;
  syntax?: SyntaxInfo;
}

interface ReadyReport {
  uid: number;
  gid: number;
  groups: number[];
  interfaces: string[] | null;
  landlock: number | null;
  seccomp: number | null;
  rlimits: Record<string, number>;
  errors: string[];
  python: string;
  executable: string;
  prefix: string;
}

interface LaunchPlan {
  prefix: string[];
  python: string;
  /** sys.prefix the interpreter has when its installation is readable. */
  pythonPrefix: string;
  dropsPrivileges: boolean;
  netns: boolean;
}

interface Died {
  type: 'died';
  moduleLoaded: boolean;
  /** Events started ("." received): the last one was in flight. */
  progress: number;
  guardKilled: boolean;
  /** Killed for breaking the protocol (a belt writing to the reply fd): the whole batch fails. */
  protocolError: boolean;
  reason: string;
  signal: NodeJS.Signals | null;
}

type Reply = { type: 'message'; message: Record<string, unknown> } | Died;

/** The files the workers read: worker.py and the grnry_belt shim, next to this module (or in src/ when running from dist/). */
function pythonSourceDir(): string {
  const candidates = [path.join(__dirname, 'python'), path.resolve(__dirname, '../../../src/belts/python'), path.resolve(process.cwd(), 'src/belts/python')];
  const found = candidates.find((d) => existsSync(path.join(d, 'worker.py')));
  if (!found) throw new Error(`python belt worker not found in ${candidates.join(', ')}`);
  return found;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // next
    }
  }
  return undefined;
}

/** The interpreter's absolute path and installation prefix, as this process's user sees them. */
function resolvePython(python: string): Promise<{ executable: string; prefix: string }> {
  return new Promise((resolve, reject) => {
    execFile(python, ['-I', '-S', '-c', 'import sys; sys.stdout.write(sys.executable + "\\n" + sys.prefix)'], { timeout: 30_000 }, (err, stdout) => {
      const [executable, prefix] = stdout.split('\n');
      if (err || !executable || !prefix) reject(new Error(`cannot run ${python}: ${err ? err.message : 'no sys.executable'}`));
      else resolve({ executable, prefix });
    });
  });
}

async function copyTree(from: string, to: string): Promise<void> {
  await fs.mkdir(to, { mode: 0o755 });
  await fs.chmod(to, 0o755);
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    if (entry.name === '__pycache__') continue;
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) await copyTree(src, dst);
    else if (entry.isFile() && entry.name.endsWith('.py')) {
      await fs.copyFile(src, dst);
      await fs.chmod(dst, 0o644);
    }
  }
}

function formatSyntax(filename: string, s: SyntaxInfo): string {
  const line = s.lineno ?? 0;
  const column = s.offset ?? 0;
  const text = s.text ? `\n    ${s.text.trim()}` : '';
  return `${filename}: ${s.type}: ${s.msg} at line ${line}, column ${column} [${filename}:${line}:${column}]${text}`;
}

function toBeltError(e: WireError, filename: string): BeltError {
  if (e.syntax) return { kind: 'exception', message: formatSyntax(filename, e.syntax), ...(e.syntax.formatted ? { stack: e.syntax.formatted } : {}) };
  return { kind: e.kind, message: e.message ?? 'unknown error', ...(e.stack ? { stack: e.stack } : {}) };
}

const KINDS = new Set(['exception', 'timeout', 'memory']);

function isWireError(v: unknown): v is WireError {
  return isRecord(v) && typeof v.kind === 'string' && KINDS.has(v.kind) && (v.message === undefined || typeof v.message === 'string');
}

/** One python process and its protocol: "m" when the module is loaded, "." per event started, JSON lines. */
class PyWorker {
  readonly hashes = new Set<string>();
  alive = true;
  ready!: ReadyReport;
  private readonly requests: Writable;
  private stderrTail = '';
  private line: Buffer[] = [];
  private lineBytes = 0;
  private protocolError = false;
  private inLine = false;
  private progress = 0;
  private moduleLoaded = false;
  private guardKilled = false;
  private guard?: NodeJS.Timeout;
  private pending?: { resolve: (r: Reply) => void; wallMs: number; slackMs: number; events: number };
  private readyWaiter?: { resolve: (r: ReadyReport) => void; reject: (e: Error) => void };
  private exitInfo?: { code: number | null; signal: NodeJS.Signals | null };
  private readonly exitListeners: Array<() => void> = [];

  private constructor(
    readonly proc: ChildProcess,
    readonly plan: LaunchPlan,
  ) {
    this.requests = proc.stdio[3] as Writable;
    const replies = proc.stdio[4] as Readable;
    this.requests.on('error', () => undefined); // EPIPE when the worker is gone: 'exit' handles it
    replies.on('error', () => undefined);
    replies.on('data', (chunk: Buffer) => this.onData(chunk));
    proc.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    proc.on('error', (err) => {
      this.stderrTail += `\n${err.message}`;
      this.onExit(null, null);
    });
    proc.on('exit', (code, signal) => this.onExit(code, signal));
  }

  static async start(plan: LaunchPlan, runtime: string, limits: SandboxLimits, allowUnconfined: boolean): Promise<PyWorker> {
    const argv = [...plan.prefix, plan.python, '-I', '-S', '-B', path.join(runtime, 'worker.py'), path.join(runtime, 'shim'), String(limits.memoryMb), String(limits.timeoutMs)];
    const proc = spawn(argv[0], argv.slice(1), {
      cwd: path.join(runtime, 'cwd'),
      env: {},
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const w = new PyWorker(proc, plan);
    const timer = setTimeout(() => w.kill(), READY_TIMEOUT_MS);
    try {
      w.ready = await new Promise<ReadyReport>((resolve, reject) => {
        w.readyWaiter = { resolve, reject };
      });
      // The worker has not run any belt code yet: refusing now means none runs unconfined.
      const refusal = unconfinedRefusal(w.ready, allowUnconfined);
      if (refusal) {
        w.kill();
        throw new PythonUnconfinedError(refusal);
      }
      return w;
    } finally {
      clearTimeout(timer);
    }
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  onceExit(listener: () => void): void {
    if (!this.alive) listener();
    else this.exitListeners.push(listener);
  }

  kill(): void {
    if (this.alive) this.proc.kill('SIGKILL');
  }

  /**
   * Sends one request; resolves with the reply line, or with how the process died. The guard allows
   * wallMs per event; reading the request (before "m") and writing the reply (after the last ".")
   * get extra time in proportion to the request's size.
   */
  request(req: Record<string, unknown>, wallMs: number, events = 0): Promise<Reply> {
    if (!this.alive) return Promise.resolve(this.died());
    const line = `${JSON.stringify(req)}\n`;
    this.progress = 0;
    this.moduleLoaded = false;
    this.guardKilled = false;
    const slackMs = 1000 + Math.ceil(line.length / 10_000);
    const reply = new Promise<Reply>((resolve) => {
      this.pending = { resolve, wallMs, slackMs, events };
    });
    this.armGuard(wallMs + slackMs);
    this.requests.write(line);
    return reply;
  }

  /** Kills a worker stuck in one event (or in loading the module) beyond the wall-time budget. */
  private armGuard(ms: number): void {
    if (this.guard) clearTimeout(this.guard);
    this.guard = setTimeout(() => {
      this.guardKilled = true;
      this.kill();
    }, ms);
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inLine) {
        if (c === 0x0a) {
          this.line.push(chunk.subarray(start, i));
          this.lineBytes = 0;
          this.inLine = false;
          const text = Buffer.concat(this.line).toString('utf8');
          this.line = [];
          this.onLine(text);
        }
        continue;
      }
      if (c === 0x2e /* . */) {
        this.progress++;
        const p = this.pending;
        if (p) this.armGuard(p.wallMs + (this.progress >= p.events ? p.slackMs : 0));
      } else if (c === 0x6d /* m */) {
        this.moduleLoaded = true;
        if (this.pending) this.armGuard(this.pending.wallMs);
      } else {
        this.inLine = true;
        start = i;
      }
    }
    if (this.inLine) {
      this.line.push(chunk.subarray(start));
      this.lineBytes += chunk.length - start;
      // A real reply is built within the worker's address-space limit; anything far larger is a belt flooding fd 4.
      if (this.lineBytes > MAX_REPLY_BYTES) {
        this.line = [];
        this.protocolError = true;
        this.kill();
      }
    }
  }

  private onLine(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      message = undefined;
    }
    if (this.readyWaiter) {
      const waiter = this.readyWaiter;
      this.readyWaiter = undefined;
      if (isRecord(message) && isRecord(message.ready)) waiter.resolve(message.ready as unknown as ReadyReport);
      else {
        waiter.reject(new Error(`python worker sent no ready message: ${text.slice(0, 200)}`));
        this.kill();
      }
      return;
    }
    const pending = this.pending;
    if (!pending) {
      this.kill(); // output nobody asked for: the protocol is no longer in step
      return;
    }
    this.pending = undefined;
    if (this.guard) clearTimeout(this.guard);
    pending.resolve({ type: 'message', message: isRecord(message) ? message : { invalid: text.slice(0, 200) } });
  }

  private died(): Died {
    const { code, signal } = this.exitInfo ?? { code: null, signal: null };
    const stderr = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    const how = this.protocolError ? `sent a reply larger than ${MAX_REPLY_BYTES} bytes` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return {
      type: 'died',
      moduleLoaded: this.moduleLoaded,
      progress: this.progress,
      guardKilled: this.guardKilled,
      protocolError: this.protocolError,
      signal,
      reason: `python worker ${how}${stderr ? `: ${stderr}` : ''}`,
    };
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.alive) return;
    this.alive = false;
    this.exitInfo = { code, signal };
    if (this.guard) clearTimeout(this.guard);
    this.requests.destroy();
    (this.proc.stdio[4] as Readable | null)?.destroy();
    if (this.readyWaiter) {
      this.readyWaiter.reject(new Error(this.died().reason));
      this.readyWaiter = undefined;
    }
    if (this.pending) {
      const pending = this.pending;
      this.pending = undefined;
      pending.resolve(this.died());
    }
    for (const l of this.exitListeners.splice(0)) l();
  }
}

/**
 * A pool of python3 workers running `python-callback` belts. Each batch goes to one worker as one
 * request and comes back as one reply; a worker compiles (and runs the top level of) each source
 * once, cached by its hash, and the pool prefers a worker that already has the source.
 */
export class PythonBeltPool {
  private readonly processes: number;
  private readonly limits: SandboxLimits;
  private readonly python: string;
  private readonly allowUnconfined: boolean;
  private readonly idle: PyWorker[] = [];
  private readonly all = new Set<PyWorker>();
  private readonly waiters: Array<() => void> = [];
  private count = 0;
  private closed = false;
  private setup?: Promise<{ plan: LaunchPlan; runtime: string; report: PythonIsolation }>;
  private spare?: PyWorker;
  private exitCleanup?: () => void;

  constructor(opts: PythonPoolOptions = {}) {
    this.processes = Math.max(1, Math.floor(opts.processes ?? 2));
    this.limits = { ...DEFAULT_PYTHON_LIMITS, ...opts.limits };
    this.python = opts.python ?? 'python3';
    this.allowUnconfined = opts.allowUnconfined ?? process.env[UNCONFINED_SETTING] === 'true';
  }

  /** Runs one belt's source over a batch; one result per input, in order; never throws for a belt's own failure. */
  async runBatch(source: string, filename: string, inputs: BeltInput[]): Promise<BeltResult[]> {
    if (inputs.length === 0) return [];
    const hash = createHash('sha256').update(source).digest('hex');
    let worker = await this.acquire(hash);
    const results: Array<BeltResult | undefined> = new Array(inputs.length);
    const fail = (i: number, error: BeltError): void => {
      results[i] = { eventId: inputs[i].eventId, outputs: [], logs: [], error };
    };
    try {
      let pending = inputs.map((_, i) => i);
      let retriedLoad = false;
      while (pending.length > 0) {
        const reply = await worker.request(
          {
            op: 'run',
            hash,
            source,
            filename,
            inputs: pending.map((i) => ({ headers: inputs[i].headers, payload: inputs[i].payload, profile: inputs[i].profile ?? null, metadata: inputs[i].metadata })),
          },
          this.wallMs(),
          pending.length,
        );
        if (reply.type === 'message') {
          worker.hashes.add(hash);
          const m = reply.message;
          if (isWireError(m.load_error) || isWireError(m.batch_error)) {
            const e = toBeltError((m.load_error ?? m.batch_error) as WireError, filename);
            for (const i of pending) fail(i, e);
          } else if (Array.isArray(m.results) && m.results.length === pending.length) {
            m.results.forEach((r: unknown, j) => {
              const i = pending[j];
              if (!isRecord(r) || !Array.isArray(r.outputs) || !Array.isArray(r.logs) || (r.error !== undefined && !isWireError(r.error))) {
                fail(i, { kind: 'exception', message: 'python worker sent an invalid result' });
                return;
              }
              results[i] = {
                eventId: inputs[i].eventId,
                outputs: r.outputs,
                logs: r.logs.map(String),
                ...(r.error !== undefined ? { error: toBeltError(r.error as WireError, filename) } : {}),
              };
            });
          } else {
            // Only belt code writing to the protocol fd produces this: the worker can't be trusted.
            worker.kill();
            for (const i of pending) fail(i, { kind: 'exception', message: 'python worker sent an invalid reply (did the belt write to fd 4?)' });
            worker = await this.replace(worker);
          }
          break;
        }
        // The process died: restart it, fail the event in flight, run the rest again.
        worker = await this.replace(worker);
        const error: BeltError = reply.guardKilled
          ? { kind: 'timeout', message: `belt exceeded its time limit of ${this.wallMs()} ms (CPU budget ${this.limits.timeoutMs} ms) and its worker was killed` }
          : reply.signal === 'SIGKILL' && !reply.protocolError
            ? { kind: 'memory', message: `${reply.reason} (out of memory?)` }
            : { kind: 'exception', message: reply.reason };
        if (!reply.moduleLoaded || reply.protocolError) {
          // Died before the module was loaded: perhaps killed while idle, so try once more on the
          // fresh process; a module whose top level kills the worker again fails the whole batch.
          if (!retriedLoad && !reply.guardKilled && !reply.protocolError) {
            retriedLoad = true;
            continue;
          }
          for (const i of pending) fail(i, error);
          break;
        }
        const inFlight = Math.min(Math.max(reply.progress - 1, 0), pending.length - 1);
        fail(pending[inFlight], error);
        pending = pending.filter((_, j) => j !== inFlight);
      }
    } finally {
      this.release(worker);
    }
    return results.map((r, i) => r ?? { eventId: inputs[i].eventId, outputs: [], logs: [], error: { kind: 'exception', message: 'no result' } });
  }

  /** Compiles only; rejects with BeltCompileError, whose message has the line and column of a SyntaxError. */
  async check(source: string, filename: string): Promise<void> {
    const hash = createHash('sha256').update(source).digest('hex');
    let worker = await this.acquire(hash);
    try {
      const reply = await worker.request({ op: 'check', source, filename }, this.wallMs());
      if (reply.type === 'died') {
        worker = await this.replace(worker);
        throw new BeltCompileError(`${filename}: ${reply.reason} while compiling`);
      }
      const m = reply.message;
      if (m.check === 'ok') return;
      if (m.check === 'error' && isWireError(m.error)) throw new BeltCompileError(m.error.syntax ? formatSyntax(filename, m.error.syntax) : `${filename}: ${m.error.message}`);
      throw new Error('python worker sent an invalid reply to check');
    } finally {
      this.release(worker);
    }
  }

  /** The isolation measures in force (starts the first worker if none runs yet). */
  async isolation(): Promise<PythonIsolation> {
    return (await this.prepare()).report;
  }

  /** Process ids of the live workers (diagnostics, tests). */
  pids(): number[] {
    return [...this.all].filter((w) => w.alive && w.pid !== undefined).map((w) => w.pid as number);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const workers = [...this.all, ...(this.spare ? [this.spare] : [])];
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.onceExit(resolve);
            w.kill();
          }),
      ),
    );
    for (const wake of this.waiters.splice(0)) wake();
    const setup = await this.setup?.catch(() => undefined);
    if (setup) await fs.rm(setup.runtime, { recursive: true, force: true });
    if (this.exitCleanup) process.removeListener('exit', this.exitCleanup);
  }

  private wallMs(): number {
    return WALL_FACTOR * this.limits.timeoutMs;
  }

  private async acquire(hash: string): Promise<PyWorker> {
    for (;;) {
      if (this.closed) throw new Error('PythonBeltPool is closed');
      const pick = this.idle.find((w) => w.hashes.has(hash)) ?? this.idle[0];
      if (pick) {
        this.idle.splice(this.idle.indexOf(pick), 1);
        return pick;
      }
      if (this.count < this.processes) {
        this.count++;
        try {
          return await this.spawnWorker();
        } catch (err) {
          this.count--;
          this.wakeOne();
          throw err;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(worker: PyWorker): void {
    if (worker.alive && !this.closed) this.idle.push(worker);
    else {
      this.forget(worker);
      worker.kill();
    }
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }

  private forget(worker: PyWorker): void {
    if (this.all.delete(worker)) this.count--;
  }

  /** A fresh process in place of a dead (or untrustworthy) one, counted in the same slot. */
  private async replace(worker: PyWorker): Promise<PyWorker> {
    worker.kill();
    this.all.delete(worker);
    if (this.closed) {
      this.count--;
      throw new Error('PythonBeltPool is closed');
    }
    try {
      return await this.spawnWorker();
    } catch (err) {
      this.count--;
      this.wakeOne();
      throw err;
    }
  }

  private async spawnWorker(): Promise<PyWorker> {
    const { plan, runtime } = await this.prepare();
    let worker = this.spare;
    this.spare = undefined;
    if (!worker?.alive) worker = await PyWorker.start(plan, runtime, this.limits, this.allowUnconfined);
    this.track(worker);
    return worker;
  }

  private track(worker: PyWorker): void {
    this.all.add(worker);
    worker.onceExit(() => {
      // An idle worker that died (killed from outside, say) frees its slot; busy ones are replaced by their batch.
      const i = this.idle.indexOf(worker);
      if (i >= 0) {
        this.idle.splice(i, 1);
        this.forget(worker);
        this.wakeOne();
      }
    });
  }

  private prepare(): Promise<{ plan: LaunchPlan; runtime: string; report: PythonIsolation }> {
    this.setup ??= this.probe().catch((err: unknown) => {
      this.setup = undefined; // a later call tries again
      throw err;
    });
    return this.setup;
  }

  /**
   * Finds the most isolated way to start a worker on this machine, trying in order: (root only)
   * network namespace + unprivileged user, unprivileged user alone, network namespace alone; then
   * plain. The first worker that starts is kept as the pool's first process.
   */
  private async probe(): Promise<{ plan: LaunchPlan; runtime: string; report: PythonIsolation }> {
    const configured = await resolvePython(this.python);
    const known = new Map([[configured.executable, configured.prefix]]);
    const runtime = await fs.mkdtemp(path.join(os.tmpdir(), 'beltline-python-'));
    this.exitCleanup = () => rmSync(runtime, { recursive: true, force: true });
    process.once('exit', this.exitCleanup);
    try {
      await fs.chmod(runtime, 0o755);
      const src = pythonSourceDir();
      await fs.copyFile(path.join(src, 'worker.py'), path.join(runtime, 'worker.py'));
      await fs.chmod(path.join(runtime, 'worker.py'), 0o644);
      await fs.mkdir(path.join(runtime, 'shim'), { mode: 0o755 });
      await fs.chmod(path.join(runtime, 'shim'), 0o755);
      await copyTree(path.join(src, 'grnry_belt'), path.join(runtime, 'shim', 'grnry_belt'));
      await fs.mkdir(path.join(runtime, 'cwd'), { mode: 0o555 });
      await fs.chmod(path.join(runtime, 'cwd'), 0o555);

      const root = process.getuid?.() === 0;
      const unshare = root ? findExecutable('unshare') : undefined;
      const setpriv = root ? findExecutable('setpriv') : undefined;
      const net = unshare ? [unshare, '--net', '--'] : [];
      const drop = setpriv ? [setpriv, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--nnp', '--'] : [];
      // pyenv and friends often live where an unprivileged user can't go (/root is 0700).
      const real = (p: string): string => {
        try {
          return realpathSync(p);
        } catch {
          return p;
        }
      };
      const pythons = [configured.executable, ...(setpriv ? ['/usr/bin/python3', '/usr/local/bin/python3'] : [])].filter(
        (p, i, all) => existsSync(p) && all.findIndex((q) => real(q) === real(p)) === i,
      );
      for (const p of pythons) {
        if (!known.has(p)) {
          const r = await resolvePython(p).catch(() => undefined);
          if (r) known.set(p, r.prefix);
        }
      }
      const plan = (prefix: string[], python: string, dropsPrivileges: boolean, netns: boolean): LaunchPlan => ({ prefix, python, pythonPrefix: known.get(python) ?? '', dropsPrivileges, netns });
      const plans: LaunchPlan[] = [];
      if (setpriv) {
        for (const python of pythons.filter((p) => known.has(p))) plans.push(plan([...net, ...drop], python, true, net.length > 0));
        if (net.length) for (const python of pythons.filter((p) => known.has(p))) plans.push(plan(drop, python, true, false));
      }
      if (net.length) plans.push(plan(net, configured.executable, false, true));
      plans.push(plan([], configured.executable, false, false));

      const failures: string[] = [];
      for (const plan of plans) {
        try {
          const worker = await PyWorker.start(plan, runtime, this.limits, this.allowUnconfined);
          if (worker.ready.prefix !== plan.pythonPrefix) {
            // e.g. a pyenv python under /root (0700): setpriv may still exec it, but as uid 65534 it
            // can't read its own installation and falls back to whatever libpython and stdlib it finds.
            worker.kill();
            throw new Error(`runs with sys.prefix ${worker.ready.prefix} instead of ${plan.pythonPrefix} (its installation is not readable by uid ${worker.ready.uid})`);
          }
          if (this.closed) worker.kill();
          else this.spare = worker;
          return { plan, runtime, report: this.report(plan, worker.ready, root, failures, configured.executable, { unshare, setpriv }) };
        } catch (err) {
          // The kernel, not the launch plan, lacks the sandbox: another plan would not help.
          if (err instanceof PythonUnconfinedError) throw err;
          failures.push(`${[...plan.prefix.map((p) => path.basename(p)), plan.python].join(' ')}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      throw new Error(`no python belt worker could be started: ${failures.join('; ')}`);
    } catch (err) {
      await fs.rm(runtime, { recursive: true, force: true });
      if (this.exitCleanup) process.removeListener('exit', this.exitCleanup);
      throw err;
    }
  }

  private report(plan: LaunchPlan, ready: ReadyReport, root: boolean, failures: string[], configured: string, tools: { unshare?: string; setpriv?: string }): PythonIsolation {
    const enforced = [
      'empty environment',
      'cwd: an empty, read-only temp folder',
      'python -I -S -B: no site-packages, no PYTHON* variables, only the grnry_belt shim added to sys.path',
      `CPU budget per event: ${this.limits.timeoutMs} ms (ITIMER_PROF) → kind 'timeout'`,
      `wall-time guard: worker killed after ${this.wallMs()} ms in one event → kind 'timeout'`,
    ];
    const notEnforced: string[] = [];
    const rl = ready.rlimits ?? {};
    if (rl.RLIMIT_AS) enforced.push(`address space ${Math.round(rl.RLIMIT_AS / 1048576)} MB per worker (RLIMIT_AS) → kind 'memory'`);
    else notEnforced.push('memory limit (RLIMIT_AS)');
    const others = ['RLIMIT_NPROC', 'RLIMIT_FSIZE', 'RLIMIT_CORE', 'RLIMIT_NOFILE'].filter((k) => rl[k] !== undefined);
    if (others.length) enforced.push(`rlimits: ${others.map((k) => `${k}=${rl[k]}`).join(', ')}${ready.uid === 0 ? ' (NPROC is ignored for root)' : ''}`);
    if (plan.netns && ready.interfaces && ready.interfaces.every((i) => i === 'lo')) enforced.push('network namespace without interfaces (unshare --net)');
    else notEnforced.push(root ? `network namespace (${tools.unshare ? 'unshare --net failed' : 'unshare not found'})` : 'network namespace (needs root)');
    if (ready.uid !== 0 && plan.dropsPrivileges) enforced.push(`unprivileged user: uid ${ready.uid}, gid ${ready.gid}, no supplementary groups, no_new_privs (setpriv)`);
    else if (ready.uid === 0) notEnforced.push(`unprivileged user: the workers run as root (${tools.setpriv ? 'setpriv could not start python as nobody' : 'setpriv not found'})`);
    else notEnforced.push('unprivileged user switch (the pool does not run as root; workers run as the pool’s own user)');
    if (plan.python !== configured) notEnforced.push(`configured python ${configured} is not usable by uid ${NOBODY}; workers run ${plan.python}`);
    if (ready.landlock) {
      enforced.push(
        `Landlock ABI ${ready.landlock}: read-only file access beneath the Python installation, library folders and the shim only; no writes anywhere` +
          `${ready.landlock >= 4 ? '; TCP bind/connect denied' : ''}${ready.landlock >= 6 ? '; abstract unix sockets and signals scoped' : ''}`,
      );
    } else notEnforced.push('Landlock file-system confinement (kernel support missing): world-readable files such as /etc/passwd can be read');
    if (ready.seccomp) enforced.push(`seccomp: ${ready.seccomp} syscalls denied (sockets, fork/clone/exec, ptrace, signals: kill/tgkill/tkill/pidfd_*, mount/namespaces, bpf, io_uring, uid/rlimit changes)`);
    else notEnforced.push('seccomp syscall filter');
    for (const e of ready.errors ?? []) notEnforced.push(`worker: ${e}`);
    for (const f of failures) notEnforced.push(`launch attempt failed: ${f}`);
    notEnforced.push('belts sharing a pool share processes: a belt can alter interpreter state seen by later batches of other belts');
    return { python: `${ready.executable || plan.python} (Python ${ready.python})`, command: [...plan.prefix, plan.python], enforced, notEnforced };
  }
}
