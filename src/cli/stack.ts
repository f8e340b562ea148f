import type { Command } from 'commander';
import { loadConfig } from '../config';

/**
 * `beltline stack up|down|status`. The stack is development tooling: it is loaded only when one
 * of these commands (or `dev`) runs, so `beltline start` in production never imports it.
 */
export function registerStackCommands(program: Command): void {
  const stack = program.command('stack').description('the local stack: Temporal dev server, Kafka, PostgreSQL');
  const only = '--only <services>';
  const onlyHelp = 'temporal, kafka and/or postgres (comma-separated or repeated)';
  const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
  const tools = async () => {
    const [s, r] = await Promise.all([import('../stack'), import('../stack/render')]);
    const services = (values: string[] | undefined): ReturnType<typeof r.parseOnly> => (values ?? []).reduce<ReturnType<typeof r.parseOnly>>((acc, v) => r.parseOnly(v, acc), []);
    const print = (status: Awaited<ReturnType<typeof s.stackStatus>>, json: boolean | undefined): void => {
      if (json) console.log(JSON.stringify(status));
      else for (const line of status) console.log(r.statusLine(line));
    };
    return { ...s, services, print };
  };
  stack
    .command('up')
    .description('start what is not running (idempotent) and wait until it is ready')
    .option(only, onlyHelp, collect)
    .action(async (opts: { only?: string[] }) => {
      const t = await tools();
      t.print(await t.stackUp(loadConfig(), { only: t.services(opts.only) }), false);
    });
  stack
    .command('down')
    .description('stop the services this stack started')
    .option(only, onlyHelp, collect)
    .action(async (opts: { only?: string[] }) => {
      const t = await tools();
      await t.stackDown(loadConfig(), { only: t.services(opts.only) });
    });
  stack
    .command('status')
    .description("each service's endpoint and state")
    .option('--json', 'print JSON only')
    .action(async (opts: { json?: boolean }) => {
      const t = await tools();
      t.print(await t.stackStatus(loadConfig()), opts.json);
    });
}
