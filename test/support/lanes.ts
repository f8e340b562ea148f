/**
 * Integration test files run in lanes: jest workers that each take one file at a time, side by
 * side (the 2 cores sit half idle while a test waits on Kafka, Temporal or a poll). A lane has a
 * namespace of its own on the shared local stack — database, topics, consumer group, task queue
 * and default HTTP port — so two files never see each other's belts, types, rows or batches.
 *
 * A file that stops or kills one of the stack's servers says so with a `@stack exclusive` docblock
 * pragma: it then runs alone (see test/lane-environment.ts).
 */

/** How many integration files run at once (jest.config.js sets 2); BELTLINE_TEST_LANES=1 runs them one by one. */
export function lanes(): number {
  return Math.max(1, Number(process.env.BELTLINE_TEST_LANES ?? 1) || 1);
}

/** The lane of this jest worker (JEST_WORKER_ID counts from 1; a run in band is lane 1). */
export function currentLane(): number {
  const id = Number(process.env.JEST_WORKER_ID ?? 1);
  return Number.isInteger(id) && id >= 1 ? id : 1;
}

/** The lane's own names on the shared stack. */
export function laneEnv(lane: number): Record<string, string> {
  return {
    BELTLINE_DATABASE: `beltline_test_${lane}`,
    BELTLINE_TASK_QUEUE: `beltline-test-${lane}`,
    BELTLINE_RAW_TOPIC: `test-${lane}-raw`,
    BELTLINE_BAD_TOPIC: `test-${lane}-bad`,
    BELTLINE_PROFILE_UPDATES_TOPIC: `test-${lane}-profile-updates`,
    BELTLINE_RECOVERY_FAILED_TOPIC: `test-${lane}-bad-recovery-failed`,
    BELTLINE_ENRICHED_TOPIC: `test-${lane}-enriched`,
    BELTLINE_CONSUMER_GROUP: `beltline-test-${lane}-bridge`,
    // startBeltline's port when a test names none; tests that name one use ports no other file does.
    BELTLINE_TEST_DEFAULT_PORT: String(18060 + lane),
  };
}
