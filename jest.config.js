const transform = { '^.+\\.ts$': 'ts-jest' };

// Tests (and the beltline processes they start, which inherit these) share the local stack with
// `npm start` but none of its state: a database of their own on the embedded server (an explicit
// DATABASE_URL still wins), their own task queue (a running `npm start` worker must not take a
// test's batches, nor a test's worker its batches), topics and consumer group. Tests that need
// more isolation set their own on top.
process.env.BELTLINE_DATABASE ??= 'beltline_test';
process.env.BELTLINE_TASK_QUEUE ??= 'beltline-test';
process.env.BELTLINE_RAW_TOPIC ??= 'test-raw';
process.env.BELTLINE_BAD_TOPIC ??= 'test-bad';
process.env.BELTLINE_PROFILE_UPDATES_TOPIC ??= 'test-profile-updates';
process.env.BELTLINE_RECOVERY_FAILED_TOPIC ??= 'test-bad-recovery-failed';
process.env.BELTLINE_ENRICHED_TOPIC ??= 'test-enriched';
process.env.BELTLINE_CONSUMER_GROUP ??= 'beltline-test-bridge';

/**
 * Unit tests need nothing; integration tests share one local stack, which their project's
 * globalSetup starts (jest runs a project's globalSetup only when one of its tests runs).
 */
module.exports = {
  // Integration tests share Kafka topics and PostgreSQL and the machine has 2 cores.
  maxWorkers: 1,
  // Temporal's native runtime (the time-skipping test environment) keeps threads alive after
  // teardown; without this jest would wait on them forever once every test has finished.
  forceExit: true,
  // Hooks stop beltline processes, which drain before they exit (SIGKILL after 20 s: see
  // test/support/beltline.ts); jest's 5 s default failed those hooks on a busy 2-core machine.
  testTimeout: 30_000,
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform, testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Workflows on Temporal's time-skipping test server with stub activities: no stack needed.
    { displayName: 'workflows', testEnvironment: 'node', transform, testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
