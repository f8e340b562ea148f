/**
 * Readiness: whether this process can do its roles' work now. Each dependency the roles use is
 * checked on demand (a probe asks), each within a short timeout, all at once. A dependency is
 * `required` when the roles cannot work without it; the others are reported but do not make the
 * process unready (the collector keeps taking events while PostgreSQL is away, by design).
 */

export type Dependency = 'kafka' | 'temporal' | 'postgres';

export interface DependencyCheck {
  name: Dependency;
  required: boolean;
  /** Resolves when the dependency answered; rejects with the reason it did not. */
  check(): Promise<void>;
  /** Releases what the check holds (a connection of its own). */
  close?(): Promise<void>;
}

export interface DependencyStatus {
  status: 'up' | 'down';
  required: boolean;
  /** How long the check took, in ms. */
  ms: number;
  /** Why it is down (no secrets: credentials in URLs are masked). */
  reason?: string;
}

export type Dependencies = Partial<Record<Dependency, DependencyStatus>>;

export type ReadyError = 'not_ready' | 'starting' | 'shutting_down';

export type ReadyAnswer =
  | { ready: true; body: { status: 'ready'; dependencies: Dependencies } }
  | { ready: false; body: { error: ReadyError; message: string; details: { dependencies: Dependencies } } };

/** Where the process is in its life: probes answer 503 but while running. */
export type Phase = { phase: 'starting'; why?: string } | { phase: 'running' } | { phase: 'stopping' };

/** An error's message fit for an unauthenticated caller: URL credentials masked, bounded. Pure. */
export function publicReason(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@').slice(0, 300);
}

/** What the dependencies down say, `kafka unreachable: …; postgres unreachable: …`, or undefined. Pure. */
export function unreachableMessage(dependencies: Dependencies, requiredOnly: boolean): string | undefined {
  const down = Object.entries(dependencies).filter(([, s]) => s.status === 'down' && (s.required || !requiredOnly));
  return down.length === 0 ? undefined : down.map(([name, s]) => `${name} unreachable: ${s.reason ?? 'no answer'}`).join('; ');
}

/** The probe's answer from the dependencies' statuses and the process's phase. Pure. */
export function readyAnswer(dependencies: Dependencies, phase: Phase): ReadyAnswer {
  const details = { dependencies };
  if (phase.phase === 'stopping') return { ready: false, body: { error: 'shutting_down', message: 'beltline is shutting down: it takes no new work', details } };
  const down = unreachableMessage(dependencies, true);
  if (phase.phase === 'starting') {
    const why = down ?? phase.why;
    return { ready: false, body: { error: 'starting', message: `beltline has not started its roles yet${why ? `: ${why}` : ''}`, details } };
  }
  if (!down) return { ready: true, body: { status: 'ready', dependencies } };
  return { ready: false, body: { error: 'not_ready', message: down, details } };
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class Readiness {
  private readonly checks: DependencyCheck[] = [];
  /** A check still running when the next probe comes is joined, not started again. */
  private readonly running = new Map<Dependency, Promise<void>>();
  private phase: Phase = { phase: 'starting' };

  constructor(private readonly timeoutMs: number) {}

  /** Adds a dependency; one named twice (two roles in one process) is required if either says so. */
  add(check: DependencyCheck): void {
    const same = this.checks.findIndex((c) => c.name === check.name);
    if (same < 0) this.checks.push(check);
    else if (check.required && !this.checks[same].required) this.checks[same] = check;
  }

  /** A start attempt failed for this reason (a dependency down); the next probes say so. */
  notStarted(why: string): void {
    this.phase = { phase: 'starting', why };
  }

  started(): void {
    this.phase = { phase: 'running' };
  }

  /** From now on the process answers not ready, so load balancers stop sending it work. */
  markShuttingDown(): void {
    this.phase = { phase: 'stopping' };
  }

  /** Which dependencies, required or not, do not answer now; undefined when all do. */
  async unreachable(): Promise<string | undefined> {
    return unreachableMessage(await this.statuses(), false);
  }

  async probe(): Promise<ReadyAnswer> {
    return readyAnswer(await this.statuses(), this.phase);
  }

  private async statuses(): Promise<Dependencies> {
    const entries = await Promise.all(
      this.checks.map(async (c): Promise<[Dependency, DependencyStatus]> => {
        const started = Date.now();
        let run = this.running.get(c.name);
        if (!run) {
          run = c.check().finally(() => this.running.delete(c.name));
          this.running.set(c.name, run);
        }
        try {
          await within(run, this.timeoutMs);
          return [c.name, { status: 'up', required: c.required, ms: Date.now() - started }];
        } catch (err) {
          return [c.name, { status: 'down', required: c.required, ms: Date.now() - started, reason: publicReason(err) }];
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    await Promise.all(this.checks.map((c) => c.close?.().catch(() => undefined)));
  }
}
