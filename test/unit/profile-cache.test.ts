import { ProfileCache } from '../../src/profiles/cache';
import type { ProfileState } from '../../src/profiles/semantics';

const state = (v: number): ProfileState => ({ document: { v }, stamps: {} });
const written = (version: string, ids: string[]) => ({ version, profiles: new Map(ids.map((id, i) => [id, state(i)])) });

describe('ProfileCache', () => {
  it('hands an entry out once: the taker owns the state until it remembers what it wrote', () => {
    const cache = new ProfileCache(10);
    cache.remember(written('7', ['a']));
    const got = cache.take('a');
    expect(got).toEqual({ version: '7', state: state(0) });
    expect(cache.take('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('keeps the most recently written profiles, up to its size', () => {
    const cache = new ProfileCache(2);
    cache.remember(written('1', ['a', 'b']));
    cache.remember(written('2', ['a']));
    cache.remember(written('3', ['c']));
    expect(cache.size).toBe(2);
    expect(cache.take('b')).toBeUndefined();
    expect(cache.take('a')?.version).toBe('2');
    expect(cache.take('c')?.version).toBe('3');
  });

  it('trusts an entry for a bounded time only', () => {
    let now = 0;
    const cache = new ProfileCache(10, 1000, () => now);
    cache.remember(written('1', ['a', 'b']));
    now = 1000;
    expect(cache.take('a')?.version).toBe('1');
    now = 1001;
    expect(cache.take('b')).toBeUndefined();
  });

  it('holds nothing when sized 0, and nothing from a transaction that changed no profile', () => {
    const off = new ProfileCache(0);
    off.remember(written('1', ['a']));
    expect(off.size).toBe(0);
    const on = new ProfileCache(10);
    on.remember(null);
    expect(on.size).toBe(0);
  });
});
