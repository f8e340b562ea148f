/** Unit tests need nothing; integration tests share one stack started by globalSetup. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { isolatedModules: true }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 120000,
  // Integration tests share Kafka topics and PostgreSQL; running them in parallel would make
  // their counts interfere, and 2 cores gain little from it.
  maxWorkers: 1,
};
