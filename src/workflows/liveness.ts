/**
 * How long Temporal waits for a heartbeat of a regular (task-queue) activity before it takes the
 * activity to be lost with its worker and schedules the next attempt, on any worker. Without it a
 * killed worker's belt run waited out its whole start-to-close timeout (5 minutes). Workers
 * heartbeat every running activity that has one (src/workers/heartbeat.ts), several times per
 * timeout, so only a dead or frozen process misses it. Local activities have none: a dead worker's
 * local activity is retried when its workflow task times out (10 s).
 */
export const ACTIVITY_HEARTBEAT_TIMEOUT = '15 seconds';
