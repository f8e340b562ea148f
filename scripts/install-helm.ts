import { installHelm } from '../src/stack/helm';

/**
 * Builds the Helm CLI into ~/.cache/beltline/helm-<version>/ unless it is there. `npm test` starts
 * this in the background while the stack starts and the checks run, so that the chart test finds
 * it built (or waits for the rest of the build, not for all of it).
 */
installHelm()
  .then((bin) => console.log(bin))
  .catch((err: unknown) => {
    console.error(`beltline: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
