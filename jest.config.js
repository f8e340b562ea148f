const transform = { '^.+\\.ts$': 'ts-jest' };

// Tests (and the beltline processes they start, which inherit these) share the local stack with
// `npm start` but none of its state. Integration files run in lanes, each with a database, topics,
// consumer group and task queue of its own (test/support/lanes.ts, set by test/lane-environment.ts).
process.env.BELTLINE_TEST_LANES ??= '2';

/**
 * Unit tests need nothing; integration tests share one local stack, which their project's
 * globalSetup starts (jest runs a project's globalSetup only when one of its tests runs).
 */
module.exports = {
  // One worker per lane: integration files wait on Kafka, Temporal and polls more than they compute.
  maxWorkers: Math.max(1, Number(process.env.BELTLINE_TEST_LANES) || 1),
  // Temporal's native runtime (the time-skipping test environment) keeps threads alive after
  // teardown; without this jest would wait on them forever once every test has finished.
  forceExit: true,
  testSequencer: '<rootDir>/test/sequencer.js',
  // Hooks stop beltline processes, which drain before they exit (SIGKILL after 20 s: see
  // test/support/beltline.ts); jest's 5 s default failed those hooks on a busy 2-core machine.
  testTimeout: 30_000,
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform, testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    // Workflows on Temporal's time-skipping test server with stub activities: no stack needed.
    { displayName: 'workflows', testEnvironment: 'node', transform, testMatch: ['<rootDir>/test/workflows/**/*.test.ts'] },
    {
      displayName: 'integration',
      testEnvironment: '<rootDir>/test/lane-environment.ts',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      slowTestThreshold: 60,
    },
  ],
};
