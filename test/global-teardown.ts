import { dropTestDatabase } from './support/test-database';

/** The run's database goes with it: nothing of the tests stays on the developer's server. */
export default async function globalTeardown(): Promise<void> {
  await dropTestDatabase();
}
