import type { Command } from 'commander';
import { loadConfig } from '../config';
import { DEFAULT_PROJECT } from '../projects/names';
import { parseSince } from '../replay/query';
import { currentProject, fail, unknownProject, withProjects } from './resource';

/** Exit code of `beltline status` when a service could not be reached. */
export const STATUS_UNREACHABLE = 3;

/** False for a project the registry does not hold; true too when PostgreSQL cannot say (status reports it unreachable). */
async function projectMayExist(project: string): Promise<boolean> {
  if (project === DEFAULT_PROJECT) return true;
  let exists = true;
  await withProjects(async (projects) => {
    exists = await projects.exists(project);
  }).catch(() => undefined);
  return exists;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("the last hour: consumer lag, the project's failing belts and bad rows, failed batches (exit 3 when a service is unreachable)")
    .option('--since <time>', 'another window: ISO-8601, or 30m / 2h / 1d back from now', '1h')
    .option('--json', 'print JSON')
    .action(async (opts: { since: string; json?: boolean }) => {
      const project = currentProject();
      if (!(await projectMayExist(project))) return fail(unknownProject(project));
      // Status reaches Kafka and Temporal: their clients load for this command alone.
      const { gatherStatus, renderStatus } = await import('../status/status');
      const report = await gatherStatus(loadConfig(), parseSince(opts.since), project);
      console.log(opts.json ? JSON.stringify(report, null, 2) : renderStatus(report));
      if (report.unreachable.length > 0) {
        console.error(`beltline status: unreachable: ${report.unreachable.join(', ')}`);
        process.exitCode = STATUS_UNREACHABLE;
      }
    });
}
