import { writeKeyOf, writeKeyRefusal } from '../../src/collector/write-key';
import { hashKey } from '../../src/projects/keys';

const hash = (k: string) => Buffer.from(hashKey(k), 'hex');

describe('writeKeyOf', () => {
  it('takes the bearer header first, then ?wk=', () => {
    expect(writeKeyOf('Bearer abc', { wk: 'def' })).toBe('abc');
    expect(writeKeyOf('bearer   abc ', {})).toBe('abc');
    expect(writeKeyOf(undefined, { wk: 'def' })).toBe('def');
    expect(writeKeyOf('Basic xyz', { wk: 'def' })).toBe('def');
    expect(writeKeyOf(undefined, { wk: ['first', 'second'] })).toBe('first');
  });

  it('finds none in an empty key, another parameter or no query', () => {
    expect(writeKeyOf('Bearer ', { wk: '' })).toBeUndefined();
    expect(writeKeyOf(undefined, { key: 'x' })).toBeUndefined();
    expect(writeKeyOf(undefined, undefined)).toBeUndefined();
    expect(writeKeyOf(undefined, Object.create({ wk: 'inherited' }))).toBeUndefined();
  });
});

describe('writeKeyRefusal', () => {
  const locked = { name: 'p', requireWriteKey: true, writeKeyHash: hash('blw_right') };

  it('lets any request into a public project, key or not', () => {
    expect(writeKeyRefusal({ name: 'p', requireWriteKey: false }, undefined)).toBeUndefined();
    expect(writeKeyRefusal({ ...locked, requireWriteKey: false }, 'blw_wrong')).toBeUndefined();
  });

  it('asks for the key when none is given, refuses a wrong one, takes the right one', () => {
    expect(writeKeyRefusal(locked, undefined)).toBe('missing');
    expect(writeKeyRefusal(locked, 'blw_wrong')).toBe('wrong');
    expect(writeKeyRefusal(locked, 'blw_right')).toBeUndefined();
  });

  it('refuses every key of a project that requires one but has none', () => {
    expect(writeKeyRefusal({ name: 'p', requireWriteKey: true }, 'blw_right')).toBe('wrong');
  });
});
