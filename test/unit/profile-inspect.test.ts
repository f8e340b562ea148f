import { flattenStamps } from '../../src/profiles/inspect';
import { applyUpdate, parseUpdate, type ProfileState } from '../../src/profiles/semantics';

function state(updates: { raw: unknown; eid: string; at: number }[]): ProfileState {
  const s: ProfileState = { document: {}, stamps: {} };
  for (const u of updates) applyUpdate(s, parseUpdate(u.raw), { eventId: u.eid, created: u.at });
  return s;
}

describe('profile stamps, flattened for the console', () => {
  it('lists each written path with its time and event, newest first, and marks once, history and deletions', () => {
    const s = state([
      { raw: { _id: 'p', _path: ['contact', 'email'], _value: { _v: 'a@b.c', _in: 1000 } }, eid: 'e1', at: 1000 },
      { raw: { _id: 'p', _operation: '_set_once', _path: ['first'], _value: { _v: 'x', _in: 2000 } }, eid: 'e2', at: 2000 },
      { raw: { _id: 'p', _operation: '_set_with_history', _path: ['plan'], _value: { _v: 'pro', _in: 3000 } }, eid: 'e3', at: 3000 },
      { raw: { _id: 'p', _operation: '_delete', _path: ['gone'] }, eid: 'e4', at: 4000 },
    ]);
    const rows = flattenStamps(s.stamps as unknown as Record<string, unknown>);
    expect(rows.map((r) => [r.path.join('.'), r.eventId])).toEqual([
      ['gone', 'e4'],
      ['plan', 'e3'],
      ['first', 'e2'],
      ['contact.email', 'e1'],
    ]);
    expect(rows[0]).toMatchObject({ deleted: true, kind: 'value' });
    expect(rows[1]).toMatchObject({ withHistory: true, at: new Date(3000).toISOString() });
    expect(rows[2]).toMatchObject({ setOnce: true });
  });

  it('gives each set element its own row', () => {
    const s = state([{ raw: { _id: 'p', _operation: '_add_to_set', _path: ['tags'], _value: { _v: ['a', 'b'], _in: 5000 } }, eid: 'e5', at: 5000 }]);
    const elements = flattenStamps(s.stamps as unknown as Record<string, unknown>).filter((r) => r.kind === 'element');
    expect(elements.map((r) => r.element).sort()).toEqual(['a', 'b']);
    expect(elements.every((r) => r.path.join('.') === 'tags' && r.eventId === 'e5')).toBe(true);
  });

  it('skips keys it cannot read instead of failing the whole view', () => {
    expect(flattenStamps({ 'not json': { in: 1, eid: 'x' }, '["a"]': { nope: true } })).toEqual([]);
  });
});
