import { applyUpdate, expireValue, mergeStates, parseUpdate, UpdateError, type Operation, type ProfileState, type ProfileUpdate } from '../../src/profiles/semantics';

/**
 * Issue 12 item 4: a belt output's `_path` is user input; a segment such as `__proto__` must never
 * reach Object.prototype in the worker, whatever the operation or the state stored before.
 */
const polluted = (): unknown => (({}) as Record<string, unknown>).polluted;
const proto = Object.prototype as unknown as Record<string, unknown>;

afterEach(() => {
  // A failure here must not leak into the other tests of the worker.
  delete proto.polluted;
});

const empty = (): ProfileState => ({ document: {}, stamps: {} });
const ctx = { eventId: 'e1', created: 1000 };
const OPS: Operation[] = ['_set', '_set_with_history', '_delete', '_set_once', '_increment', '_add_to_set', '_remove_from_set'];
const BAD_PATHS = [['__proto__', 'polluted'], ['a', '__proto__', 'polluted'], ['constructor', 'prototype', 'polluted'], ['prototype', 'polluted']];

describe('prototype-safe profile paths', () => {
  it.each(OPS)('%s never writes to Object.prototype, whether it throws or not', (op) => {
    for (const path of BAD_PATHS) {
      const update: ProfileUpdate = { _id: 'p', _operation: op, _path: [...path], _value: { _v: op === '_increment' ? 1 : 'yes' } };
      try {
        applyUpdate(empty(), update, ctx);
      } catch {
        // Refusing is one correct outcome; this test is about the prototype only.
      }
      expect({ op, path, polluted: polluted() }).toEqual({ op, path, polluted: undefined });
    }
  });

  it.each(OPS.flatMap((op) => BAD_PATHS.map((path) => [op, path] as const)))('%s at %j is refused and writes nothing', (op, path) => {
    const state = empty();
    const update: ProfileUpdate = { _id: 'p', _operation: op, _path: [...path], _value: { _v: op === '_increment' ? 1 : 'yes' } };
    expect(() => applyUpdate(state, update, ctx)).toThrow(UpdateError);
    expect(() => applyUpdate(state, update, ctx)).toThrow(/_path: .* cannot be a path segment/);
    expect(polluted()).toBeUndefined();
    expect(state).toEqual(empty());
  });

  it('refuses such a path when a belt output is parsed, naming the field', () => {
    expect(() => parseUpdate({ _id: 'p', _path: ['__proto__', 'polluted'], _value: { _v: 1 } })).toThrow(/^_path: "__proto__" cannot be a path segment/);
    expect(() => parseUpdate({ _id: 'p', _path: ['a', 'constructor'], _value: { _v: 1 } })).toThrow(/^_path: "constructor"/);
    // Only whole segments are refused: a key that merely contains the word is an ordinary key.
    expect(parseUpdate({ _id: 'p', _path: ['my__proto__', 'constructors'], _value: { _v: 1 } })._path).toEqual(['my__proto__', 'constructors']);
  });

  it('ignores such stamps stored before the fix: merges and expiries never reach the prototype', () => {
    // What the old code left in the database: a stamp for the path, and no value in the document.
    const legacy = (): ProfileState => ({
      document: { ok: 1 },
      stamps: {
        '["__proto__","polluted"]': { in: 5, eid: 'old', v: 'yes' },
        'set:["__proto__","polluted"]': { yes: { in: 5, eid: 'old' } } as never,
        '["ok"]': { in: 5, eid: 'old', v: 1 },
      },
    });
    const into = empty();
    mergeStates(into, legacy());
    expect(into.document).toEqual({ ok: 1 });
    // A counter the old code kept under such a key (an own property, harmless) does not break a merge.
    const counters = empty();
    mergeStates(counters, { document: { constructor: 3, n: 2 } as never, stamps: {} });
    expect(counters.document).toEqual({ n: 2 });
    expect(polluted()).toBeUndefined();

    const state = legacy();
    proto.polluted = 'from elsewhere';
    expect(expireValue(state, ['__proto__', 'polluted'], { in: 5, eid: 'old' })).toBeUndefined();
    expect(polluted()).toBe('from elsewhere');
    delete proto.polluted;

    // A later write of an ordinary path re-applies the surviving stamps and sets around it.
    applyUpdate(state, { _id: 'p', _path: ['ok'], _value: { _v: 2 } }, { eventId: 'e9', created: 9 });
    expect(state.document).toEqual({ ok: 2 });
    expect(polluted()).toBeUndefined();
  });
});
