import type { ProfileState } from './semantics';

/**
 * The profile states a worker last wrote, so a batch touching the same profiles again need not
 * read them back from PostgreSQL (reading and parsing the documents and stamps was about a
 * quarter of a batch's time in the profiles bench). An entry is used only for the row version it
 * was written as: the lock statement compares it with the row's `xmin` (the transaction that
 * wrote that version) and sends the row whenever they differ, so a write by anything else (the
 * reaper, another worker, an operator's SQL, a delete) makes the entry a miss, never stale data.
 *
 * A batch takes the entries it uses out of the cache and only what it wrote goes back, after
 * its commit: a state being changed is never shared, and one whose transaction rolled back is
 * gone. Pure: no I/O.
 */
export interface CachedProfile {
  /** The row version (`xmin`) the state was written as. */
  version: string;
  state: ProfileState;
}

/** What a committed transaction wrote: the version its rows got, and each profile's state. */
export interface WrittenProfiles {
  version: string;
  profiles: Map<string, ProfileState>;
}

export class ProfileCache {
  /** A worker's cache, as BELTLINE_PROFILE_CACHE sizes it. */
  static fromConfig(cfg: { BELTLINE_PROFILE_CACHE: number }): ProfileCache {
    return new ProfileCache(cfg.BELTLINE_PROFILE_CACHE);
  }

  private readonly entries = new Map<string, CachedProfile & { at: number }>();

  /**
   * `max` profiles are kept (least recently written go first); `maxAgeMs` bounds how long an
   * entry is trusted, far below the billions of transactions after which a 32-bit `xmin` could
   * come round to the same value for the same profile.
   */
  constructor(
    private readonly max: number,
    private readonly maxAgeMs = 10 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Removes and returns the entry: the caller owns the state, and gives it back through remember(). */
  take(id: string): CachedProfile | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    return this.now() - e.at > this.maxAgeMs ? undefined : { version: e.version, state: e.state };
  }

  /** After the commit only: an entry must describe a row version that exists. The cache owns the states from then on. */
  remember(written: WrittenProfiles | null): void {
    if (!written || this.max === 0) return;
    const at = this.now();
    for (const [id, state] of written.profiles) {
      // Re-inserted: a Map iterates in insertion order, so the front is the least recently written.
      this.entries.delete(id);
      this.entries.set(id, { version: written.version, state, at });
    }
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.max) break;
      this.entries.delete(id);
    }
  }
}
