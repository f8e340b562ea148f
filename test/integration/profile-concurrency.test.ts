import fc from 'fast-check';
import type { Pool } from 'pg';
import { ProfileCache } from '../../src/profiles/cache';
import { applyUpdates, type PendingUpdate } from '../../src/profiles/store';
import { testPool } from '../support/beltline';

/**
 * Guarantee 3 against the real store: the same updates split into batches applied concurrently
 * (in separate transactions racing for the same profiles) give what one sequential pass gives.
 */
describe('profile store under concurrent batches', () => {
  let pool: Pool;
  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    await pool.end();
  });

  // Counters commute with counters; a path is either a counter or a value (README), so
  // increments get a path of their own here.
  const op = fc
    .record({
      op: fc.constantFrom('_set', '_set_with_history', '_delete', '_set_once', '_add_to_set', '_remove_from_set', '_increment'),
      profile: fc.integer({ min: 0, max: 2 }),
      path: fc.constantFrom(['a'], ['a', 'b'], ['c'], ['s']),
      v: fc.integer({ min: 0, max: 3 }),
      at: fc.integer({ min: 0, max: 4 }),
    })
    .map((o) => (o.op === '_increment' ? { ...o, path: ['n'] } : o));

  it('converges whatever the batching and interleaving', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 4 }), async (ops, parts) => {
        run++;
        const prefix = `conc-${Date.now().toString(36)}-${run}`;
        const updates = (tag: string): PendingUpdate[] =>
          ops.map((o, i) => ({
            update: { _id: `${prefix}-${tag}-${o.profile}`, _operation: o.op as PendingUpdate['update']['_operation'], _path: [...o.path], _value: { _v: o.v, _in: o.at } },
            ctx: { eventId: `e${i}`, created: o.at },
          }));
        await applyUpdates(pool, updates('seq'), 60_000);
        const batches: PendingUpdate[][] = Array.from({ length: parts }, () => []);
        updates('par').forEach((u, i) => batches[(i * 7) % parts].push(u));
        await Promise.all(batches.reverse().map((b) => applyUpdates(pool, b, 60_000)));
        const { rows } = await pool.query<{ id: string; document: unknown }>('SELECT id, document FROM profiles WHERE id LIKE $1 ORDER BY id', [`${prefix}-%`]);
        const by = (tag: string) => Object.fromEntries(rows.filter((r) => r.id.includes(`-${tag}-`)).map((r) => [r.id.split('-').pop(), r.document]));
        expect(by('par')).toEqual(by('seq'));
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  // A worker's batches share its cache (src/profiles/cache.ts): racing batches take and give back
  // the same profiles, and the second wave starts from states the first one left in it.
  it('converges the same with the cache concurrent batches of one worker share', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), fc.array(op, { minLength: 1, maxLength: 30 }), fc.integer({ min: 2, max: 4 }), async (first, second, parts) => {
        run++;
        const prefix = `conc-cache-${Date.now().toString(36)}-${run}`;
        const updates = (tag: string, ops: typeof first, wave: number): PendingUpdate[] =>
          ops.map((o, i) => ({
            update: { _id: `${prefix}-${tag}-${o.profile}`, _operation: o.op as PendingUpdate['update']['_operation'], _path: [...o.path], _value: { _v: o.v, _in: o.at } },
            ctx: { eventId: `w${wave}e${i}`, created: o.at },
          }));
        const cache = new ProfileCache(100);
        for (const [wave, ops] of [first, second].entries()) {
          await applyUpdates(pool, updates('seq', ops, wave), 60_000);
          const batches: PendingUpdate[][] = Array.from({ length: parts }, () => []);
          updates('par', ops, wave).forEach((u, i) => batches[(i * 7) % parts].push(u));
          await Promise.all(batches.reverse().map((b) => applyUpdates(pool, b, 60_000, cache)));
        }
        const { rows } = await pool.query<{ id: string; document: unknown; stamps: unknown }>('SELECT id, document, stamps FROM profiles WHERE id LIKE $1 ORDER BY id', [`${prefix}-%`]);
        const by = (tag: string) => Object.fromEntries(rows.filter((r) => r.id.includes(`-${tag}-`)).map((r) => [r.id.split('-').pop(), { document: r.document, stamps: r.stamps }]));
        expect(by('par')).toEqual(by('seq'));
      }),
      { numRuns: 25 },
    );
  }, 120_000);

  it('loses no update racing a link of the same profile', async () => {
    for (let i = 0; i < 20; i++) {
      const p = `race-${Date.now().toString(36)}-${i}`;
      const at = (n: number) => ({ eventId: `${p}-e${n}`, created: n });
      await applyUpdates(pool, [{ update: { _id: `${p}-anon`, _path: ['seen'], _value: { _v: 1 } }, ctx: at(1) }], 60_000);
      await applyUpdates(pool, [{ update: { _id: `${p}-known`, _path: ['email'], _value: { _v: 'k' } }, ctx: at(2) }], 60_000);
      await Promise.all([
        applyUpdates(pool, [{ update: { _id: `${p}-anon`, _operation: '_link', _path: [], _value: { _v: `${p}-known` } }, ctx: at(3) }], 60_000),
        applyUpdates(pool, [{ update: { _id: `${p}-anon`, _path: ['late'], _value: { _v: i } }, ctx: at(4) }], 60_000),
      ]);
      const { rows } = await pool.query('SELECT document FROM profiles WHERE id = $1', [`${p}-known`]);
      expect(rows[0].document).toEqual({ seen: 1, email: 'k', late: i });
    }
  }, 60_000);
});
