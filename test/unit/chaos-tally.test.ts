import { allApplied, caughtUpAt, tally, type AppliedEvent } from '../../bench/chaos-tally';
import { heartbeatEveryMs } from '../../src/workers/heartbeat';

/** The fault campaign's counting: lost, doubled and recovery from acknowledgements and counters. */
describe('chaos tally', () => {
  const row = (counts: number[], writtenAt: number): AppliedEvent => ({ counts, writtenAt });

  it('counts lost (a counter at 0 or no profile) and doubled (a counter above 1) events exactly', () => {
    const accepted = new Map([
      ['a', 100],
      ['b', 100],
      ['c', 200],
      ['d', 200],
    ]);
    const rows = new Map([
      ['a', row([1, 1], 150)],
      ['b', row([1, 0], 160)],
      ['c', row([2, 1], 900)],
      ['x', row([2, 2], 300)],
      ['y', row([1, 1], 300)],
    ]);
    const t = tally(accepted, new Set(['x', 'y', 'z']), rows, 2);
    expect(t).toEqual({ accepted: 4, applied: [4, 2], lost: 2, doubled: 2, unacknowledged: 3, unacknowledgedApplied: 2, maxDelayMs: 700 });
    expect(allApplied(accepted, rows, 2)).toBe(false);
  });

  it('finds when every event accepted up to the end of an outage was applied', () => {
    const accepted = new Map([
      ['a', 100],
      ['b', 500],
      ['c', 2000],
    ]);
    const rows = new Map([
      ['a', row([1, 1], 1500)],
      ['b', row([1, 1], 1200)],
    ]);
    expect(caughtUpAt(accepted, rows, 2, 1000)).toBe(1500);
    expect(allApplied(accepted, rows, 2)).toBe(false);
    expect(caughtUpAt(accepted, new Map([['a', row([1, 1], 1500)]]), 2, 1000)).toBeNull();
  });

  it('heartbeats several times per heartbeat timeout', () => {
    expect(heartbeatEveryMs(15_000)).toBe(3000);
    expect(heartbeatEveryMs(100)).toBe(250);
  });
});
