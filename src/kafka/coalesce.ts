/**
 * Shares one produce request among the messages of concurrent callers (the collector's requests):
 * each caller's promise settles with the request its message went out in, so a caller still
 * hears "acknowledged" only once Kafka acknowledged its own message, and a failed request fails
 * exactly the callers whose messages were in it.
 *
 * A message waits at most `lingerMs` for company, or less when the batch reaches `maxBytes`; while
 * a batch is in flight, new messages gather for the next one instead (the idempotent producer
 * sends one request at a time per broker anyway), which is sent as soon as the first completes.
 * The bookkeeping is pure: the send and the timer are injected.
 */

export interface CoalescerOptions<M> {
  /** The longest a message waits for others before its batch goes out. */
  lingerMs: number;
  /** A batch goes out at once when it reaches this size; no batch exceeds it, unless of one message. */
  maxBytes: number;
  sizeOf: (message: M) => number;
  /** Sends one batch; resolves once Kafka acknowledged every message of it. */
  send: (batch: M[]) => Promise<void>;
  /** Runs `fn` after `ms`; returns a cancel function. Default: setTimeout. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

interface Pending<M> {
  message: M;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const defaultSchedule = (fn: () => void, ms: number): (() => void) => {
  // 0: once the requests already read in this turn of the event loop have joined.
  if (ms <= 0) {
    const i = setImmediate(fn);
    return () => clearImmediate(i);
  }
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class Coalescer<M> {
  private pending: Pending<M>[] = [];
  private pendingBytes = 0;
  private cancelTimer: (() => void) | undefined;
  private inFlight = 0;
  private readonly schedule: (fn: () => void, ms: number) => () => void;

  constructor(private readonly opts: CoalescerOptions<M>) {
    this.schedule = opts.schedule ?? defaultSchedule;
  }

  /** Messages waiting for their batch to go out. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Batches sent and not yet settled. */
  get sending(): number {
    return this.inFlight;
  }

  /** Resolves once the batch carrying `message` was acknowledged; rejects with that batch's error. */
  add(message: M): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const size = this.opts.sizeOf(message);
      // Keep every batch under the cap: what is waiting goes out first if this one would overflow it.
      if (this.pending.length > 0 && this.pendingBytes + size > this.opts.maxBytes) this.flush();
      this.pending.push({ message, resolve, reject });
      this.pendingBytes += size;
      if (this.pendingBytes >= this.opts.maxBytes) this.flush();
      else if (this.inFlight === 0) this.cancelTimer ??= this.schedule(() => this.flush(), this.opts.lingerMs);
    });
  }

  /** Sends what is waiting now, as one batch. */
  flush(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.inFlight++;
    let sent: Promise<void>;
    try {
      sent = this.opts.send(batch.map((p) => p.message));
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => this.settled(batch, undefined),
      (err: unknown) => this.settled(batch, err ?? new Error('send failed')),
    );
  }

  private settled(batch: Pending<M>[], err: unknown): void {
    this.inFlight--;
    for (const p of batch) {
      if (err === undefined) p.resolve();
      else p.reject(err);
    }
    // What gathered during the send has waited long enough.
    if (this.inFlight === 0 && this.pending.length > 0) this.flush();
  }
}
