const transform = { '^.+\\.ts$': 'ts-jest' };

// Tests (and the beltline processes they start, which inherit this) use a database of their own
// on the embedded server, never the one `npm start` uses. An explicit DATABASE_URL still wins.
process.env.BELTLINE_DATABASE ??= 'beltline_test';

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
