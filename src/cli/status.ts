import type { Command } from 'commander';
import { loadConfig } from '../config';
import { parseSince } from '../replay/query';
import { gatherStatus, renderStatus } from '../status/status';

/** Exit code of `beltline status` when a service could not be reached. */
export const STATUS_UNREACHABLE = 3;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('the last hour: consumer lag, failing belts, bad rows, failed batches (exit 3 when a service is unreachable)')
    .option('--since <time>', 'another window: ISO-8601, or 30m / 2h / 1d back from now', '1h')
    .option('--json', 'print JSON')
    .action(async (opts: { since: string; json?: boolean }) => {
      const report = await gatherStatus(loadConfig(), parseSince(opts.since));
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderStatus(report));
      if (report.unreachable.length > 0) {
        console.error(`beltline status: unreachable: ${report.unreachable.join(', ')}`);
        process.exitCode = STATUS_UNREACHABLE;
      }
    });
}
