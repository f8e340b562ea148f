/**
 * A counting semaphore: how many batches one bridge keeps in flight. While all slots are taken the
 * bridge stops starting batches, records pile up in Kafka, and the next fetch cuts a bigger batch:
 * that is what makes batches grow under backlog and stay small (and quick) under light load.
 */
export class InFlight {
  private used = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly limit: number) {}

  get size(): number {
    return this.used;
  }

  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }

  /** Resolves when a slot may be free (then call tryAcquire again), or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  release(): void {
    if (this.used > 0) this.used--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
