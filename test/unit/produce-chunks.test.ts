import { chunkByBytes, MAX_RECORD_BYTES, MAX_REQUEST_BYTES, recordBytes } from '../../src/kafka/produce-chunks';

const msg = (id: number, bytes: number) => ({ key: `k${id}`, value: 'x'.repeat(bytes) });

describe('recordBytes', () => {
  it('counts UTF-8 bytes of key, value and headers, plus framing', () => {
    const plain = recordBytes({ value: 'abc' });
    expect(plain).toBeGreaterThan(3);
    // 'é' is two bytes in UTF-8: a string's length would undercount it.
    expect(recordBytes({ value: 'ééé' })).toBe(plain + 3);
    expect(recordBytes({ key: 'kk', value: 'abc' })).toBe(plain + 2);
    expect(recordBytes({ value: Buffer.alloc(3) })).toBe(plain);
    expect(recordBytes({ value: 'abc', headers: { h: 'v' } })).toBeGreaterThan(plain + 2);
  });

  it('leaves requests well under what Kafka accepts in one batch', () => {
    expect(MAX_REQUEST_BYTES).toBeLessThan(MAX_RECORD_BYTES);
    expect(MAX_RECORD_BYTES).toBeLessThan(1_048_588);
  });
});

describe('chunkByBytes', () => {
  it('cuts by bytes, never above the limit unless one message alone is larger', () => {
    const size = recordBytes(msg(0, 400));
    const messages = [msg(0, 400), msg(1, 400), msg(2, 400), msg(3, 5000), msg(4, 1)];
    const chunks = chunkByBytes(messages, 2 * size);
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['k0', 'k1'], ['k2'], ['k3'], ['k4']]);
  });

  it('keeps every message exactly once and in order, each chunk within the limit', () => {
    const messages = Array.from({ length: 2000 }, (_, i) => msg(i, (i * 7919) % 3000));
    const limit = 10_000;
    const chunks = chunkByBytes(messages, limit);
    expect(chunks.flat()).toEqual(messages);
    for (const c of chunks) expect(c.reduce((n, m) => n + recordBytes(m), 0)).toBeLessThanOrEqual(limit);
    // and not needlessly small: two neighbouring chunks could not have been one
    for (let i = 1; i < chunks.length; i++) {
      const both = [...chunks[i - 1], chunks[i][0]].reduce((n, m) => n + recordBytes(m), 0);
      expect(both).toBeGreaterThan(limit);
    }
  });

  it('splits a send of many megabytes into requests under MAX_REQUEST_BYTES', () => {
    const messages = Array.from({ length: 3000 }, (_, i) => msg(i, 1000));
    const chunks = chunkByBytes(messages, MAX_REQUEST_BYTES);
    expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil((3000 * 1000) / MAX_REQUEST_BYTES));
    for (const c of chunks) expect(c.reduce((n, m) => n + recordBytes(m), 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('returns nothing for nothing', () => {
    expect(chunkByBytes([], 10)).toEqual([]);
  });
});
