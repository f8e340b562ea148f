/**
 * Results of a pure computation by key, for hot paths whose keys come from a small vocabulary
 * (timestamps of one batch, user agents, attribute paths, expressions). Emptied when full, which
 * bounds it whatever the traffic without the bookkeeping of an LRU. A computation that throws
 * leaves nothing behind.
 */
export class BoundedMemo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K, compute: (key: K) => V): V {
    const hit = this.values.get(key);
    if (hit !== undefined || this.values.has(key)) return hit as V;
    const value = compute(key);
    if (this.values.size >= this.max) this.values.clear();
    this.values.set(key, value);
    return value;
  }
}
