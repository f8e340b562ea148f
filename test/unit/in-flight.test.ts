import { InFlight, type Slot } from '../../src/bridge/in-flight';

describe('InFlight: how many batches a bridge keeps running', () => {
  afterEach(() => jest.useRealTimers());

  it('gives out at most its limit of slots, and a released slot again', () => {
    const f = new InFlight(2);
    const a = f.tryAcquire();
    expect([a, f.tryAcquire(), f.tryAcquire()].map(Boolean)).toEqual([true, true, false]);
    expect(f.size).toBe(2);
    a?.release();
    expect(f.tryAcquire()).toBeDefined();
    expect(f.tryAcquire()).toBeUndefined();
  });

  it('frees a slot once however often it is released', () => {
    const f = new InFlight(2);
    const a = f.tryAcquire() as Slot;
    f.tryAcquire();
    a.release();
    a.release();
    expect(f.size).toBe(1);
    expect(f.tryAcquire()).toBeDefined();
    expect(f.tryAcquire()).toBeUndefined();
  });

  it('wakes a waiting bridge when a slot is released, before its timeout', async () => {
    const f = new InFlight(1);
    const a = f.tryAcquire() as Slot;
    let woke = false;
    const waiting = f.changed(60_000).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    a.release();
    await waiting;
    expect(woke).toBe(true);
    expect(f.tryAcquire()).toBeDefined();
  });

  it('lets a waiter go after its timeout (to heartbeat) without a release', async () => {
    jest.useFakeTimers();
    const f = new InFlight(1);
    f.tryAcquire();
    let woke = false;
    const waiting = f.changed(2000).then(() => (woke = true));
    jest.advanceTimersByTime(1999);
    await Promise.resolve();
    expect(woke).toBe(false);
    jest.advanceTimersByTime(1);
    await waiting;
    expect(woke).toBe(true);
    expect(f.tryAcquire()).toBeUndefined();
  });

  it('takes back a slot held past its deadline, once, and wakes the waiting bridge', async () => {
    jest.useFakeTimers();
    const f = new InFlight(1);
    const slow = f.tryAcquire() as Slot;
    const expired = jest.fn();
    slow.expireAfter(30_000, expired);
    let woke = false;
    const waiting = f.changed(60_000).then(() => (woke = true));
    jest.advanceTimersByTime(29_999);
    await Promise.resolve();
    expect([woke, expired.mock.calls.length, f.size]).toEqual([false, 0, 1]);
    jest.advanceTimersByTime(1);
    await waiting;
    expect([woke, expired.mock.calls.length, f.size]).toEqual([true, 1, 0]);
    // The next batch takes the slot; the slow one ending later must not free that one too.
    const next = f.tryAcquire();
    expect(next).toBeDefined();
    slow.release();
    expect(f.size).toBe(1);
    expect(f.tryAcquire()).toBeUndefined();
  });

  it('keeps a slot released before its deadline free of the deadline', () => {
    jest.useFakeTimers();
    const f = new InFlight(1);
    const quick = f.tryAcquire() as Slot;
    const expired = jest.fn();
    quick.expireAfter(1000, expired);
    quick.release();
    const next = f.tryAcquire();
    jest.advanceTimersByTime(5000);
    expect(expired).not.toHaveBeenCalled();
    expect(next).toBeDefined();
    expect(f.size).toBe(1);
  });
});
