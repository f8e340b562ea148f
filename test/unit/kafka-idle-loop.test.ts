import { scheduleCheckPendingRequests } from '../../src/kafka/idle-loop-fix';

/** The replacement for kafkajs's RequestQueue.scheduleCheckPendingRequests, on a stand-in queue. */
describe("kafkajs's pending-request check, as beltline schedules it", () => {
  const queue = (pending: unknown[], throttledUntil: number) => ({
    pending,
    throttledUntil,
    throttleCheckTimeoutId: null as NodeJS.Timeout | null,
    checks: 0,
    checkPendingRequests() {
      this.checks++;
    },
    scheduleCheckPendingRequests,
  });

  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('schedules nothing when nothing waits and nothing is throttled (kafkajs looped every millisecond)', () => {
    const q = queue([], -1);
    q.scheduleCheckPendingRequests();
    expect(q.throttleCheckTimeoutId).toBeNull();
    jest.advanceTimersByTime(1000);
    expect(q.checks).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('checks a waiting request after 10 ms, once, when not throttled', () => {
    const q = queue(['request'], -1);
    q.scheduleCheckPendingRequests();
    q.scheduleCheckPendingRequests();
    jest.advanceTimersByTime(9);
    expect(q.checks).toBe(0);
    jest.advanceTimersByTime(1);
    expect(q.checks).toBe(1);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('checks when a throttle ends, with or without requests waiting', () => {
    for (const pending of [['request'], []]) {
      const q = queue(pending, Date.now() + 250);
      q.scheduleCheckPendingRequests();
      jest.advanceTimersByTime(249);
      expect(q.checks).toBe(0);
      jest.advanceTimersByTime(1);
      expect(q.checks).toBe(1);
    }
  });
});
