import type { Pool } from 'pg';
import { withTransaction } from '../../src/db/pool';
import { profileCacheLookups } from '../../src/metrics';
import { ProfileCache } from '../../src/profiles/cache';
import { applyUpdates, applyUpdatesInTx, type PendingUpdate } from '../../src/profiles/store';
import { testPool } from '../support/beltline';

/**
 * A worker's cache of the profiles it wrote, against the real database: used while the row is
 * the version the worker wrote, and never once anything else has written the profile.
 */
describe('profile cache', () => {
  const s = `pcache-${Date.now().toString(36)}`;
  let pool: Pool;
  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    await pool.end();
  });

  let n = 0;
  const set = (id: string, path: string, v: number): PendingUpdate => {
    n++;
    return { update: { _id: id, _path: [path], _value: { _v: v } }, ctx: { eventId: `${s}-e${n}`, created: 1_000 + n } };
  };
  const doc = async (id: string) => (await pool.query<{ document: Record<string, unknown> }>('SELECT document FROM profiles WHERE id = $1', [id])).rows[0]?.document;
  const lookups = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await profileCacheLookups.get()).values.map((v) => [String(v.labels.result), v.value]));
  const delta = async (fn: () => Promise<unknown>): Promise<Record<string, number>> => {
    const before = await lookups();
    await fn();
    const after = await lookups();
    return Object.fromEntries(['hit', 'stale', 'miss'].map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
  };

  it('locks a profile it wrote without reading it back, and writes on top of what it remembered', async () => {
    const cache = new ProfileCache(100);
    const id = `${s}-hit`;
    expect(await delta(() => applyUpdates(pool, [set(id, 'a', 1)], 60_000, cache))).toEqual({ hit: 0, stale: 0, miss: 1 });
    expect(cache.size).toBe(1);
    expect(await delta(() => applyUpdates(pool, [set(id, 'b', 2)], 60_000, cache))).toEqual({ hit: 1, stale: 0, miss: 0 });
    expect(await doc(id)).toEqual({ a: 1, b: 2 });
  });

  it('reads a profile another worker wrote since, instead of writing over it from memory', async () => {
    const cache = new ProfileCache(100);
    const id = `${s}-other`;
    await applyUpdates(pool, [set(id, 'a', 1)], 60_000, cache);
    // Another worker: a store without this cache.
    await applyUpdates(pool, [set(id, 'b', 2)], 60_000);
    expect(await delta(() => applyUpdates(pool, [set(id, 'c', 3)], 60_000, cache))).toEqual({ hit: 0, stale: 1, miss: 0 });
    expect(await doc(id)).toEqual({ a: 1, b: 2, c: 3 });
  });

  it("reads a profile an operator's SQL changed since", async () => {
    const cache = new ProfileCache(100);
    const id = `${s}-sql`;
    await applyUpdates(pool, [set(id, 'a', 1)], 60_000, cache);
    await pool.query(`UPDATE profiles SET document = document || '{"note": "by hand"}' WHERE id = $1`, [id]);
    await applyUpdates(pool, [set(id, 'b', 2)], 60_000, cache);
    expect(await doc(id)).toEqual({ a: 1, note: 'by hand', b: 2 });
  });

  it('forgets what a transaction that rolled back changed', async () => {
    const cache = new ProfileCache(100);
    const id = `${s}-rollback`;
    await applyUpdates(pool, [set(id, 'a', 1)], 60_000, cache);
    await expect(
      withTransaction(pool, async (client) => {
        const applied = await applyUpdatesInTx(client, [set(id, 'a', 99), set(id, 'gone', 1)], 60_000, cache);
        expect(applied.written?.profiles.get(id)?.document).toEqual({ a: 99, gone: 1 });
        throw new Error('the batch failed after its writes');
      }),
    ).rejects.toThrow('the batch failed');
    // The row is still the version this cache wrote, but the state it held was changed in memory by
    // the batch that failed: it must not come back.
    expect(await delta(() => applyUpdates(pool, [set(id, 'b', 2)], 60_000, cache))).toEqual({ hit: 0, stale: 0, miss: 1 });
    expect(await doc(id)).toEqual({ a: 1, b: 2 });
  });

  it('creates a remembered profile again when it was deleted since', async () => {
    const cache = new ProfileCache(100);
    const id = `${s}-deleted`;
    await applyUpdates(pool, [set(id, 'a', 1)], 60_000, cache);
    await pool.query('DELETE FROM profiles WHERE id = $1', [id]);
    await applyUpdates(pool, [set(id, 'b', 2)], 60_000, cache);
    expect(await doc(id)).toEqual({ b: 2 });
  });
});
