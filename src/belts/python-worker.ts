import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { isObject as isRecord } from '../shared/json';
import type { BeltError, SandboxLimits } from './sandbox';

/**
 * One python belt worker process and the wire protocol between it and the pool
 * (src/belts/python/worker.py is the other end): requests on fd 3, replies on fd 4, "m" when a
 * belt's module is loaded, "." per event started, one JSON line per reply.
 */

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

const READY_TIMEOUT_MS = 15_000;
const STDERR_KEPT = 4096;
const MAX_REPLY_BYTES = 256 * 1024 * 1024;

export interface SyntaxInfo {
  type: string;
  msg: string;
  lineno: number | null;
  offset: number | null;
  text: string | null;
  formatted: string | null;
}

export interface WireError {
  kind: BeltError['kind'];
  message?: string;
  stack?: string;
  syntax?: SyntaxInfo;
}

export interface ReadyReport {
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


export interface LaunchPlan {
  prefix: string[];
  python: string;
  /** sys.prefix the interpreter has when its installation is readable. */
  pythonPrefix: string;
  dropsPrivileges: boolean;
  netns: boolean;
}

export interface Died {
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

export type Reply = { type: 'message'; message: Record<string, unknown> } | Died;

export function formatSyntax(filename: string, s: SyntaxInfo): string {
  const line = s.lineno ?? 0;
  const column = s.offset ?? 0;
  const text = s.text ? `\n    ${s.text.trim()}` : '';
  return `${filename}: ${s.type}: ${s.msg} at line ${line}, column ${column} [${filename}:${line}:${column}]${text}`;
}

export function toBeltError(e: WireError, filename: string): BeltError {
  if (e.syntax) return { kind: 'exception', message: formatSyntax(filename, e.syntax), ...(e.syntax.formatted ? { stack: e.syntax.formatted } : {}) };
  return { kind: e.kind, message: e.message ?? 'unknown error', ...(e.stack ? { stack: e.stack } : {}) };
}

const KINDS = new Set(['exception', 'timeout', 'memory']);

export function isWireError(v: unknown): v is WireError {
  return isRecord(v) && typeof v.kind === 'string' && KINDS.has(v.kind) && (v.message === undefined || typeof v.message === 'string');
}

/** One python process and its protocol: "m" when the module is loaded, "." per event started, JSON lines. */
export class PyWorker {
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
