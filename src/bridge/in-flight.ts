/** One batch's claim on a bridge's in-flight capacity. */
export interface Slot {
  /** Gives the slot back; a second call (the batch ended after it was let go) does nothing. */
  release(): void;
  /**
   * Gives the slot back after `ms` if it is still held, and calls `onExpire` then. A batch that
   * takes that long is retrying or waiting for a worker: it runs on, but must not hold up the
   * batches behind it.
   */
  expireAfter(ms: number, onExpire: () => void): void;
}

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
  tryAcquire(): Slot | undefined {
    if (this.used >= this.limit) return undefined;
    this.used++;
    let held = true;
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      clearTimeout(timer);
      if (!held) return;
      held = false;
      this.free();
    };
    return {
      release,
      expireAfter: (ms, onExpire) => {
        clearTimeout(timer);
        if (!held) return;
        timer = setTimeout(() => {
          if (!held) return;
          release();
          onExpire();
        }, ms);
        // A bridge that is stopping must not be kept alive by a batch it no longer waits for.
        timer.unref();
      },
    };
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

  private free(): void {
    if (this.used > 0) this.used--;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
