import { InFlight } from '../../src/bridge/in-flight';

describe('InFlight: how many batches a bridge keeps running', () => {
  it('gives out at most its limit of slots, and a released slot again', () => {
    const f = new InFlight(2);
    expect([f.tryAcquire(), f.tryAcquire(), f.tryAcquire()]).toEqual([true, true, false]);
    expect(f.size).toBe(2);
    f.release();
    expect(f.tryAcquire()).toBe(true);
    expect(f.tryAcquire()).toBe(false);
  });

  it('wakes a waiting bridge when a slot is released, before its timeout', async () => {
    const f = new InFlight(1);
    f.tryAcquire();
    let woke = false;
    const waiting = f.changed(60_000).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    f.release();
    await waiting;
    expect(woke).toBe(true);
    expect(f.tryAcquire()).toBe(true);
  });

  it('lets a waiter go after its timeout (to heartbeat) without a release', async () => {
    jest.useFakeTimers();
    try {
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
      expect(f.tryAcquire()).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });
});
