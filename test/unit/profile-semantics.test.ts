import { applyUpdate, parseUpdate, type ProfileState, type ProfileUpdate } from '../../src/profiles/semantics';

type Op = { update: ProfileUpdate; ctx: { eventId: string; created: number } };
const set = (path: string[], v: unknown, at: number, eid = `e${at}`): Op => ({
  update: { _id: 'p', _path: path, _value: { _v: v as never } },
  ctx: { eventId: eid, created: at },
});
const del = (path: string[], at: number): Op => ({ update: { _id: 'p', _operation: '_delete', _path: path }, ctx: { eventId: `d${at}`, created: at } });

function run(ops: Op[]): ProfileState {
  const state: ProfileState = { document: {}, stamps: {} };
  for (const o of ops) applyUpdate(state, o.update, o.ctx);
  return state;
}

// A small deterministic PRNG so a failure can be reproduced from its seed.
function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('profile update semantics', () => {
  it('creates a missing nested path', () => {
    expect(run([set(['a', 'b', 'c'], 1, 10)]).document).toEqual({ a: { b: { c: 1 } } });
  });

  it('keeps the value with the later _in whatever the arrival order', () => {
    expect(run([set(['x'], 'new', 20), set(['x'], 'old', 10)]).document).toEqual({ x: 'new' });
    expect(run([set(['x'], 'old', 10), set(['x'], 'new', 20)]).document).toEqual({ x: 'new' });
  });

  it('lets an explicit _in override the event time', () => {
    const late = { update: { _id: 'p', _path: ['x'], _value: { _v: 'dated', _in: '2018-09-24' } }, ctx: { eventId: 'z', created: Date.now() } };
    expect(run([late, set(['x'], 'now', Date.parse('2019-01-01'))]).document).toEqual({ x: 'now' });
  });

  it('does not bring back a deleted value with an older write', () => {
    expect(run([del(['x'], 20), set(['x'], 'old', 10)]).document).toEqual({});
    expect(run([set(['x'], 'new', 30), del(['x'], 20)]).document).toEqual({ x: 'new' });
  });

  it('converges for random writes to overlapping paths in any order, with duplicates', () => {
    const paths = [['a'], ['a', 'b'], ['a', 'c'], ['a', 'b', 'd'], ['e']];
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const ops: Op[] = Array.from({ length: 8 }, (_, i) => {
        const path = paths[Math.floor(r() * paths.length)];
        const at = Math.floor(r() * 5);
        return r() < 0.2 ? { ...del(path, at), ctx: { eventId: `d${i}`, created: at } } : set(path, `${i}`, at, `e${i}`);
      });
      const reference = run(ops).document;
      for (let k = 0; k < 5; k++) {
        const shuffled = [...ops, ...ops.filter(() => r() < 0.3)].sort(() => r() - 0.5);
        expect({ seed, doc: run(shuffled).document }).toEqual({ seed, doc: reference });
      }
    }
  });

  it('names the field of an invalid update', () => {
    expect(() => parseUpdate({ _id: 'p', _path: [], _value: { _v: 1 } })).toThrow(/^_path:/);
    expect(() => parseUpdate({ _id: 'p', _path: ['a'] })).toThrow(/^_value:/);
    expect(() => parseUpdate({ _id: '', _path: ['a'], _value: { _v: 1 } })).toThrow(/^_id:/);
    expect(() => parseUpdate({ _id: 'p', _operation: '_merge', _path: ['a'], _value: { _v: 1 } })).toThrow(/^_operation:/);
    expect(() => parseUpdate({ _id: 'p', _path: ['a'], _value: { _v: 1, _in: 'yesterday' } })).toThrow(/^_value._in:/);
    expect(parseUpdate({ _schema: 'update_1', _operation: '_delete', _id: 'p', _path: ['a'] })._operation).toBe('_delete');
  });
});

describe('stamps and expiries PostgreSQL can store', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an _in of 1e300', { _v: 1, _in: 1e300 }, /^_value\._in:/],
    ['an _in before year 1', { _v: 1, _in: -1e300 }, /^_value\._in:/],
    ['an _in after 9999', { _v: 1, _in: '+275760-09-13T00:00:00Z' }, /^_value\._in:/],
    ['a _ttl ending after 9999', { _v: 1, _in: 1_700_000_000_000, _ttl: 'P300000Y' }, /^_value\._ttl:/],
    ['a _ttn ending after 9999', { _v: 1, _in: 1_700_000_000_000, _ttn: 'P9999Y' }, /^_value\._ttn:/],
  ])('refuses %s and leaves the state as it was', (_, value, error) => {
    const state: ProfileState = { document: { a: 1 }, stamps: {} };
    expect(() => applyUpdate(state, { _id: 'p', _path: ['a'], _value: value as never }, { eventId: 'e', created: 1 })).toThrow(error);
    expect(state).toEqual({ document: { a: 1 }, stamps: {} });
  });

  // What the store writes is the state as JSON; a number JSON cannot carry would be stored as null
  // while a worker's cached state kept it, so the two would part (see src/profiles/cache.ts).
  it.each<[string, ProfileUpdate]>([
    ['an Infinity value (a Python integer past 1e308 parses as one)', { _id: 'p', _path: ['a'], _value: { _v: Number.POSITIVE_INFINITY } }],
    ['a NaN deep in an object', { _id: 'p', _path: ['a'], _value: { _v: { b: [1, { c: Number.NaN }] } } }],
    ['an Infinity added to a set', { _id: 'p', _operation: '_add_to_set', _path: ['s'], _value: { _v: [1, Number.NEGATIVE_INFINITY] } }],
    ['an increment that overflows', { _id: 'p', _operation: '_increment', _path: ['n'], _value: { _v: Number.MAX_VALUE } }],
  ])('refuses %s and leaves the state as it was', (_, update) => {
    const state: ProfileState = { document: { a: 1, n: Number.MAX_VALUE }, stamps: {} };
    expect(() => applyUpdate(state, update, { eventId: 'e', created: 1 })).toThrow(/^_value\._v:/);
    expect(state).toEqual({ document: { a: 1, n: Number.MAX_VALUE }, stamps: {} });
  });

  it('takes the last millisecond of 9999 and a ttl ending there', () => {
    const state: ProfileState = { document: {}, stamps: {} };
    const effects = { history: [], schedule: [] };
    applyUpdate(state, { _id: 'p', _path: ['a'], _value: { _v: 1, _in: Date.UTC(9999, 11, 31, 23, 59, 58, 999), _ttl: 'PT1S' } }, { eventId: 'e', created: 1 }, effects);
    expect(state.document).toEqual({ a: 1 });
  });
});
