import { cutBatches } from '../../src/bridge/batcher';

const msg = (offset: number, size: number) => ({ offset: String(offset), value: Buffer.alloc(size) });

describe('cutBatches', () => {
  it('cuts by count', () => {
    const batches = cutBatches([0, 1, 2, 3, 4].map((o) => msg(o, 10)), { maxEvents: 2, maxBytes: 1000 });
    expect(batches.map((b) => b.map((m) => m.offset))).toEqual([['0', '1'], ['2', '3'], ['4']]);
  });

  it('cuts by bytes, never above the limit unless one message alone is larger', () => {
    const batches = cutBatches([msg(0, 400), msg(1, 400), msg(2, 400), msg(3, 2000), msg(4, 1)], { maxEvents: 100, maxBytes: 1000 });
    expect(batches.map((b) => b.map((m) => m.offset))).toEqual([['0', '1'], ['2'], ['3'], ['4']]);
  });

  it('keeps every message exactly once and in order', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => msg(i, (i * 37) % 300));
    const batches = cutBatches(messages, { maxEvents: 7, maxBytes: 900 });
    expect(batches.flat().map((m) => m.offset)).toEqual(messages.map((m) => m.offset));
    for (const b of batches) {
      expect(b.length).toBeLessThanOrEqual(7);
      expect(b.reduce((n, m) => n + (m.value?.length ?? 0), 0)).toBeLessThanOrEqual(900);
    }
  });

  it('returns nothing for nothing', () => {
    expect(cutBatches([], { maxEvents: 1, maxBytes: 1 })).toEqual([]);
  });
});
