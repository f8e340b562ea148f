import { loadConfig } from '../src/config';
import { stackUp } from '../src/stack';

/** Integration tests run against the real local stack; `up` reuses services already running. */
export default async function globalSetup(): Promise<void> {
  const cfg = loadConfig();
  await stackUp(cfg);
}
