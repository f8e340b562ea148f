import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';

/**
 * Liveness heartbeats for regular (task-queue) activities. Temporal learns that a worker died
 * holding an activity only from a missed heartbeat or, without one, from the start-to-close
 * timeout: minutes for a belt run. So every regular activity whose workflow set a heartbeat
 * timeout heartbeats while it runs, from a timer: the process and its event loop are alive, which
 * is the question. A hung step is still bounded by its start-to-close timeout. Local activities
 * cannot heartbeat (their workflow task times out instead), and an activity without a heartbeat
 * timeout must not.
 */

/** How often a running activity heartbeats: several times per heartbeat timeout, never busier than 4/s. */
export function heartbeatEveryMs(heartbeatTimeoutMs: number): number {
  return Math.max(250, Math.floor(heartbeatTimeoutMs / 5));
}

/**
 * The most the SDK holds back a heartbeat (it sends at most one per such interval, 80 % of the
 * heartbeat timeout by default): a few intervals per timeout, so one late heartbeat does not
 * time a live activity out.
 */
export const MAX_HEARTBEAT_THROTTLE_MS = 5000;

export const heartbeatInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const timeout = ctx.info.heartbeatTimeoutMs;
      if (ctx.info.isLocal || !timeout) return next(input);
      ctx.heartbeat();
      const timer = setInterval(() => ctx.heartbeat(), heartbeatEveryMs(timeout));
      try {
        return await next(input);
      } finally {
        clearInterval(timer);
      }
    },
  },
});

/** What every beltline worker is created with, so that its regular activities heartbeat. */
export const heartbeatOptions: Pick<WorkerOptions, 'interceptors' | 'maxHeartbeatThrottleInterval'> = {
  interceptors: { activity: [heartbeatInterceptor] },
  maxHeartbeatThrottleInterval: MAX_HEARTBEAT_THROTTLE_MS,
};
