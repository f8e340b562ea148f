import fc from 'fast-check';
import { applyUpdate, expireValue, mergeStates, noEffects, type Effects, type ProfileState, type ProfileUpdate } from '../../src/profiles/semantics';

type Op = { update: ProfileUpdate; ctx: { eventId: string; created: number } };

const paths = [['a'], ['a', 'b'], ['a', 'c'], ['a', 'b', 'd'], ['e'], ['s']];
const opArb: fc.Arbitrary<Op> = fc
  .record({
    op: fc.constantFrom('_set', '_set_with_history', '_delete', '_set_once', '_add_to_set', '_remove_from_set'),
    path: fc.constantFrom(...paths),
    v: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y')),
    at: fc.integer({ min: 0, max: 5 }),
  })
  .map(({ op, path, v, at }, ) => ({ update: { _id: 'p', _operation: op as ProfileUpdate['_operation'], _path: path, _value: { _v: v } }, ctx: { eventId: '', created: at } }));

/** Distinct events: each op gets its own event id, as every event has one. */
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 12 }).map((ops) => ops.map((o, i) => ({ ...o, ctx: { ...o.ctx, eventId: `e${i}` } })));

function run(ops: Op[], effects?: Effects): ProfileState {
  const state: ProfileState = { document: {}, stamps: {} };
  for (const o of ops) applyUpdate(state, o.update, o.ctx, effects);
  return state;
}

describe('profile update semantics (properties)', () => {
  it('any order, any duplication: the same document', () => {
    fc.assert(
      fc.property(opsArb, fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), (ops, dupIdx, seed) => {
        const dups = dupIdx.map((i) => ops[i % ops.length]);
        const shuffled = fc.sample(fc.shuffledSubarray([...ops, ...dups], { minLength: ops.length + dups.length }), { seed, numRuns: 1 })[0];
        expect(run(shuffled).document).toEqual(run(ops).document);
      }),
      { numRuns: 500 },
    );
  });

  it('the same across batch boundaries: states carried over give the same result', () => {
    fc.assert(
      fc.property(opsArb, fc.nat(), (ops, cut) => {
        const k = cut % (ops.length + 1);
        const state = run(ops.slice(0, k));
        const carried: ProfileState = JSON.parse(JSON.stringify(state)) as ProfileState;
        for (const o of ops.slice(k).reverse()) applyUpdate(carried, o.update, o.ctx);
        expect(carried.document).toEqual(run(ops).document);
      }),
      { numRuns: 300 },
    );
  });

  it('history keeps every replaced value of a path written with history, in any order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 2, maxLength: 6 }), fc.nat(), (times, seed) => {
        const ops: Op[] = times.map((t, i) => ({ update: { _id: 'p', _operation: '_set_with_history', _path: ['h'], _value: { _v: i } }, ctx: { eventId: `e${i}`, created: t } }));
        const a = noEffects();
        const b = noEffects();
        run(ops, a);
        run(fc.sample(fc.shuffledSubarray(ops, { minLength: ops.length }), { seed, numRuns: 1 })[0], b);
        const key = (h: { eid: string }) => h.eid;
        expect(b.history.map(key).sort()).toEqual(a.history.map(key).sort());
        expect(a.history).toHaveLength(ops.length - 1);
      }),
    );
  });

  it('a tombstone keeps an older write out; sets converge per element', () => {
    const state = run([
      { update: { _id: 'p', _operation: '_add_to_set', _path: ['removed'], _value: { _v: ['sku-1', 'sku-2'] } }, ctx: { eventId: 'a', created: 1 } },
      { update: { _id: 'p', _operation: '_remove_from_set', _path: ['removed'], _value: { _v: 'sku-1' } }, ctx: { eventId: 'b', created: 2 } },
      { update: { _id: 'p', _operation: '_add_to_set', _path: ['removed'], _value: { _v: 'sku-1' } }, ctx: { eventId: 'c', created: 0 } },
    ]);
    expect(state.document.removed).toEqual(['sku-2']);
    const once = run([
      { update: { _id: 'p', _operation: '_set_once', _path: ['first'], _value: { _v: 'late' } }, ctx: { eventId: 'x', created: 9 } },
      { update: { _id: 'p', _operation: '_set_once', _path: ['first'], _value: { _v: 'early' } }, ctx: { eventId: 'y', created: 3 } },
    ]);
    expect(once.document.first).toBe('early');
  });

  it('schedules expiry at _in + _ttl and expires only a value not refreshed since', () => {
    const effects = noEffects();
    const state = run(
      [{ update: { _id: 'p', _path: ['offer'], _value: { _v: 'x', _in: '2018-09-24T00:00:00Z', _ttl: 'P3M' } }, ctx: { eventId: 'e1', created: 0 } }],
      effects,
    );
    expect(effects.schedule).toEqual([{ path: ['offer'], kind: 'ttl', dueAt: Date.parse('2018-12-23T00:00:00Z'), stamp: { in: Date.parse('2018-09-24T00:00:00Z'), eid: 'e1' } }]);
    const refreshed: ProfileState = JSON.parse(JSON.stringify(state)) as ProfileState;
    applyUpdate(refreshed, { _id: 'p', _path: ['offer'], _value: { _v: 'y' } }, { eventId: 'e2', created: Date.parse('2019-01-01') });
    expect(expireValue(refreshed, ['offer'], effects.schedule[0].stamp)).toBeUndefined();
    expect(refreshed.document.offer).toBe('y');
    expect(expireValue(state, ['offer'], effects.schedule[0].stamp)).toEqual({ value: 'x' });
    expect(state.document).toEqual({});
    applyUpdate(state, { _id: 'p', _path: ['offer'], _value: { _v: 'older', _in: '2018-01-01T00:00:00Z' } }, { eventId: 'e0', created: 0 });
    expect(state.document).toEqual({});
  });
});

describe('merging linked profiles', () => {
  it('gives the same document whichever profile\'s writes came first, and adds counters', () => {
    fc.assert(
      fc.property(opsArb, opsArb, (a, b) => {
        const anon = run(a.map((o) => ({ ...o, ctx: { ...o.ctx, eventId: `a${o.ctx.eventId}` } })));
        const known = run(b.map((o) => ({ ...o, ctx: { ...o.ctx, eventId: `b${o.ctx.eventId}` } })));
        const all = run([...a.map((o) => ({ ...o, ctx: { ...o.ctx, eventId: `a${o.ctx.eventId}` } })), ...b.map((o) => ({ ...o, ctx: { ...o.ctx, eventId: `b${o.ctx.eventId}` } }))]);
        const merged: ProfileState = JSON.parse(JSON.stringify(known)) as ProfileState;
        mergeStates(merged, anon);
        expect(merged.document).toEqual(all.document);
      }),
      { numRuns: 300 },
    );
    const counted: ProfileState = { document: { visits: 2 }, stamps: {} };
    mergeStates(counted, { document: { visits: 3 }, stamps: {} });
    expect(counted.document).toEqual({ visits: 5 });
  });
});
