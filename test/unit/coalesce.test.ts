import { Coalescer } from '../../src/kafka/coalesce';

/** A send whose outcome the test decides, and a timer the test fires: no real time involved. */
function harness(opts: { maxBytes?: number } = {}) {
  const sends: { batch: string[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  let timer: (() => void) | undefined;
  const c = new Coalescer<string>({
    lingerMs: 5,
    maxBytes: opts.maxBytes ?? 100,
    sizeOf: (m) => m.length,
    send: (batch) => new Promise<void>((resolve, reject) => void sends.push({ batch, resolve, reject })),
    schedule: (fn) => {
      timer = fn;
      return () => {
        timer = undefined;
      };
    },
  });
  const outcomes = new Map<string, string>();
  const add = (m: string) =>
    c.add(m).then(
      () => void outcomes.set(m, 'ok'),
      (e: Error) => void outcomes.set(m, `failed: ${e.message}`),
    );
  return { c, sends, add, outcomes, fireTimer: () => timer?.(), timerSet: () => timer !== undefined };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('sends concurrent messages as one batch when the linger ends, and acknowledges each only then', async () => {
    const h = harness();
    const all = ['a', 'b', 'c'].map(h.add);
    expect(h.sends).toHaveLength(0);
    expect(h.timerSet()).toBe(true);
    h.fireTimer();
    expect(h.sends.map((s) => s.batch)).toEqual([['a', 'b', 'c']]);
    await settle();
    expect(h.outcomes.size).toBe(0);
    h.sends[0].resolve();
    await Promise.all(all);
    expect([...h.outcomes.values()]).toEqual(['ok', 'ok', 'ok']);
  });

  it('fails exactly the messages of the batch that failed', async () => {
    const h = harness();
    const first = ['a', 'b'].map(h.add);
    h.fireTimer();
    const second = ['c', 'd'].map(h.add);
    h.sends[0].reject(new Error('broker gone'));
    await Promise.all(first);
    // what gathered while the first was in flight goes out as soon as it settles
    expect(h.sends.map((s) => s.batch)).toEqual([['a', 'b'], ['c', 'd']]);
    h.sends[1].resolve();
    await Promise.all(second);
    expect(Object.fromEntries(h.outcomes)).toEqual({ a: 'failed: broker gone', b: 'failed: broker gone', c: 'ok', d: 'ok' });
  });

  it('gathers messages while a batch is in flight instead of sending each alone', async () => {
    const h = harness();
    const first = h.add('a');
    h.fireTimer();
    const rest = ['b', 'c', 'd', 'e'].map(h.add);
    expect(h.timerSet()).toBe(false);
    expect(h.sends).toHaveLength(1);
    h.sends[0].resolve();
    await first;
    expect(h.sends.map((s) => s.batch)).toEqual([['a'], ['b', 'c', 'd', 'e']]);
    h.sends[1].resolve();
    await Promise.all(rest);
    expect(h.c.waiting).toBe(0);
    expect(h.c.sending).toBe(0);
  });

  it('sends at once when the size cap is reached, and never puts more than the cap in a batch', async () => {
    const h = harness({ maxBytes: 10 });
    const all = ['aaaa', 'bbbb', 'cccc', 'dddddddddd', 'eeeeeeeeeeeeeee', 'f'].map(h.add);
    expect(h.sends.map((s) => s.batch)).toEqual([['aaaa', 'bbbb'], ['cccc'], ['dddddddddd'], ['eeeeeeeeeeeeeee']]);
    // 'f' waits for the batches in flight, then goes out without a further linger
    for (const s of h.sends) s.resolve();
    await settle();
    expect(h.sends.map((s) => s.batch).at(-1)).toEqual(['f']);
    h.sends.at(-1)?.resolve();
    await Promise.all(all);
    expect(h.outcomes.size).toBe(6);
  });

  it('fails the batch when send throws synchronously', async () => {
    const c = new Coalescer<string>({
      lingerMs: 0,
      maxBytes: 1,
      sizeOf: () => 1,
      send: () => {
        throw new Error('not connected');
      },
    });
    await expect(c.add('a')).rejects.toThrow('not connected');
  });

  it('with no linger, gathers what is added in the same turn of the event loop', async () => {
    const sent: string[][] = [];
    const c = new Coalescer<string>({ lingerMs: 0, maxBytes: 100, sizeOf: (m) => m.length, send: async (b) => void sent.push(b) });
    await Promise.all([c.add('a'), c.add('b'), c.add('c')]);
    expect(sent).toEqual([['a', 'b', 'c']]);
  });

  it('flushes after the linger with the real timer', async () => {
    const sent: string[][] = [];
    const c = new Coalescer<string>({ lingerMs: 1, maxBytes: 100, sizeOf: (m) => m.length, send: async (b) => void sent.push(b) });
    await Promise.all([c.add('a'), c.add('b')]);
    expect(sent).toEqual([['a', 'b']]);
  });
});
