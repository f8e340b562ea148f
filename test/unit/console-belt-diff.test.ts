import { definitionText, lineDiff } from '../../console/belt-diff';

describe('the belts page\'s version diff', () => {
  it('marks added and removed lines and keeps the rest in order', () => {
    expect(lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'del', text: 'b' },
      { kind: 'add', text: 'B' },
      { kind: 'same', text: 'c' },
      { kind: 'add', text: 'd' },
    ]);
  });

  it('compares settings as well as the source, whatever the line endings', () => {
    const v1 = { beltType: 'js-callback', eventTypes: ['page'], outputTypes: [], extractorFn: 'x\r\ny' };
    const v2 = { ...v1, eventTypes: ['page', 'click'], outputTypes: [{ name: 'seg', version: 'latest' }], extractorFn: 'x\ny\n' };
    expect(lineDiff(definitionText(v1), definitionText(v2)).filter((l) => l.kind !== 'same')).toEqual([
      { kind: 'del', text: 'eventTypes: page' },
      { kind: 'del', text: 'outputTypes: ' },
      { kind: 'add', text: 'eventTypes: page, click' },
      { kind: 'add', text: 'outputTypes: seg' },
    ]);
  });
});
