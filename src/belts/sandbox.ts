import ivm from 'isolated-vm';

/** What a belt sees of one event. */
export interface BeltInput {
  eventId: string;
  headers: Record<string, string | number>;
  payload: unknown;
  profile: unknown;
  /** For one-argument (seed 000 style) belts: Kafka metadata of the envelope. */
  metadata?: Record<string, unknown>;
}

export interface BeltError {
  message: string;
  stack?: string;
  kind: 'exception' | 'timeout' | 'memory';
}

export interface BeltResult {
  eventId: string;
  outputs: unknown[];
  error?: BeltError;
  logs: string[];
}

export interface SandboxLimits {
  /** Heap limit of the isolate, MB. */
  memoryMb: number;
  /** CPU budget per event, ms. */
  timeoutMs: number;
}

export type SandboxEntry = 'execute' | 'transform';

export const DEFAULT_LIMITS: SandboxLimits = { memoryMb: 64, timeoutMs: 1000 };

// Runs inside the isolate: the helpers belts use, console capture, and the batch loop. The whole
// batch crosses the boundary as one JSON string each way: one call per batch, not per event.
const PRELUDE = `
'use strict';
const __logs = [];
const __fmt = (a) => typeof a === 'string' ? a : (() => { try { return JSON.stringify(a); } catch { return String(a); } })();
globalThis.console = Object.freeze({
  log: (...a) => { if (__logs.length < 100) __logs.push(a.map(__fmt).join(' ')); },
  info: (...a) => console.log(...a), warn: (...a) => console.log(...a), error: (...a) => console.log(...a), debug: (...a) => console.log(...a),
});
globalThis.Update = function Update(id, path, value, options) {
  return Object.assign({ _schema: 'update_1', _operation: '_set', _id: id, _path: path, _value: Object.assign({ _v: value }, options || {}) });
};
globalThis.DirectUpdate = function DirectUpdate(eventType, row) {
  return { _direct: eventType, row: row };
};
globalThis.Action = function Action(name, payload, options) {
  const a = { _action: name, payload: payload === undefined ? null : payload };
  if (options && options.key !== undefined && options.key !== null) a.key = options.key;
  return a;
};
globalThis.__runBatch = function (json, entry) {
  const inputs = JSON.parse(json);
  const out = [];
  for (const i of inputs) {
    __logs.length = 0;
    try {
      if (entry === 'transform') {
        if (typeof transform !== 'function') throw new Error('the harvester defines no function transform');
        const t = transform(i.payload, i.headers);
        if (t && typeof t.then === 'function') throw new Error('transform must return synchronously, not a Promise');
        const kept = t === undefined || t === null ? [] : Array.isArray(t) ? t.filter((x) => x !== null && x !== undefined) : [t];
        out.push({ eventId: i.eventId, outputs: JSON.parse(JSON.stringify(kept)), logs: __logs.slice() });
        continue;
      }
      if (typeof execute !== 'function') throw new Error('the belt defines no function execute');
      const r = execute.length === 1
        ? execute({ metadata: i.metadata || {}, payload: i.payload, payloadid: {
            correlationid: i.headers['grnry-correlation-id'], eventid: i.headers['grnry-event-id'], created: i.headers['grnry-created'] } })
        : execute(i.headers, i.payload, i.profile);
      const outputs = r === undefined || r === null ? [] : Array.isArray(r) ? r : [r];
      if (outputs.some((o) => o && typeof o.then === 'function')) {
        throw new Error('execute must return its outputs synchronously, not a Promise');
      }
      out.push({ eventId: i.eventId, outputs: JSON.parse(JSON.stringify(outputs)), logs: __logs.slice() });
    } catch (e) {
      out.push({ eventId: i.eventId, outputs: [], logs: __logs.slice(),
        error: { kind: 'exception', message: String(e && e.message !== undefined ? e.message : e), stack: e && e.stack ? String(e.stack) : undefined } });
    }
  }
  return JSON.stringify(out);
};
`;

/** The belt's source does not compile; the message carries V8's reason and [file:line:column]. */
export class BeltCompileError extends Error {
  override name = 'BeltCompileError';
}

/**
 * One compiled belt version in its own V8 isolate: no require, process, file system or network
 * exist in there, only what PRELUDE defines. A runaway event is cut off by the CPU and heap limits
 * and fails alone; the isolate is rebuilt when V8 had to dispose it.
 */
export class BeltSandbox {
  private isolate!: ivm.Isolate;
  private context!: ivm.Context;

  private constructor(
    private readonly source: string,
    private readonly filename: string,
    private readonly limits: SandboxLimits,
    private readonly entry: SandboxEntry,
  ) {}

  /**
   * Compiles the code; a syntax error rejects with V8's message and position. `entry` is the
   * function called per event: a belt's `execute`, or a harvester's `transform`.
   */
  static async create(source: string, filename: string, limits: SandboxLimits = DEFAULT_LIMITS, entry: SandboxEntry = 'execute'): Promise<BeltSandbox> {
    const sb = new BeltSandbox(source, filename, limits, entry);
    await sb.boot();
    return sb;
  }

  private async boot(): Promise<void> {
    this.isolate = new ivm.Isolate({ memoryLimit: this.limits.memoryMb });
    this.context = await this.isolate.createContext();
    await this.context.eval(PRELUDE, { timeout: this.limits.timeoutMs });
    const script = await this.isolate.compileScript(this.source, { filename: this.filename }).catch((err: unknown) => {
      throw new BeltCompileError(`${this.filename}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await script.run(this.context, { timeout: this.limits.timeoutMs });
  }

  private async call(inputs: BeltInput[], timeoutMs: number): Promise<BeltResult[]> {
    const json = await this.context.evalClosure('return __runBatch($0, $1)', [JSON.stringify(inputs), this.entry], {
      timeout: timeoutMs,
      arguments: { copy: true },
      result: { copy: true },
    });
    return JSON.parse(json as string) as BeltResult[];
  }

  /**
   * Runs a whole batch in one call. If the call as a whole is cut off, the events are run one by
   * one, each with the per-event budget, so only the runaway event fails.
   */
  async runBatch(inputs: BeltInput[]): Promise<BeltResult[]> {
    if (inputs.length === 0) return [];
    try {
      // Generous for the whole batch: a trivial belt takes microseconds per event.
      return await this.call(inputs, this.limits.timeoutMs + 5 * inputs.length);
    } catch {
      if (this.isolate.isDisposed) await this.boot();
    }
    const results: BeltResult[] = [];
    for (const input of inputs) {
      try {
        results.push(...(await this.call([input], this.limits.timeoutMs)));
      } catch (err) {
        const memory = this.isolate.isDisposed;
        results.push({
          eventId: input.eventId,
          outputs: [],
          logs: [],
          error: memory
            ? { kind: 'memory', message: `belt exceeded its memory limit of ${this.limits.memoryMb} MB` }
            : /timed out/i.test(String(err))
              ? { kind: 'timeout', message: `belt exceeded its CPU budget of ${this.limits.timeoutMs} ms` }
              : { kind: 'exception', message: String(err instanceof Error ? err.message : err) },
        });
        if (memory) await this.boot();
      }
    }
    return results;
  }

  dispose(): void {
    if (!this.isolate.isDisposed) this.isolate.dispose();
  }
}
