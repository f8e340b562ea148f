import { laneConfig } from './global-setup';
import { lanes } from './support/lanes';
import { dropTestDatabase } from './support/test-database';

/** The lanes' databases go with the run: nothing of the tests stays on the developer's server. */
export default async function globalTeardown(): Promise<void> {
  for (let lane = 1; lane <= lanes(); lane++) await dropTestDatabase(laneConfig(lane));
}
