import type { Command } from 'commander';
import { parseActionBody } from '../actions/definition';
import { createAction, deleteAction, getAction, listActionRuns, listActions, updateAction } from '../actions/store';
import { checkActionUrl, parseAllowedHosts } from '../actions/targets';
import { loadConfig } from '../config';
import { registerResourceCommands, withPool } from './resource';

export function registerActionCommands(program: Command): void {
  const cmd = registerResourceCommands(program, {
    command: 'actions',
    noun: 'action',
    description: 'actions (seed 004): webhooks a belt\'s Action(name, payload) sends, once',
    parse: parseActionBody,
    list: listActions,
    get: getAction,
    // The same check as the API's: the CLI writes definitions the workers will send.
    create: async (pool, project, a) => {
      await checkActionUrl(a.url, parseAllowedHosts(loadConfig().BELTLINE_ACTION_ALLOWED_HOSTS));
      return createAction(pool, project, a);
    },
    update: async (pool, project, a) => {
      await checkActionUrl(a.url, parseAllowedHosts(loadConfig().BELTLINE_ACTION_ALLOWED_HOSTS));
      return updateAction(pool, project, a);
    },
    remove: deleteAction,
    line: (a) => `${a.name.padEnd(24)} ${a.method.padEnd(6)} ${a.url}`,
  });
  cmd
    .command('runs [name]')
    .description('deliveries (action_runs), newest first: state, attempts, last answer')
    .option('--state <state>', 'pending, sent or failed')
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'print JSON')
    .action((name: string | undefined, opts: { state?: string; limit: string; json?: boolean }) =>
      withPool(async (pool, project) => {
        const runs = await listActionRuns(pool, project, { action: name, state: opts.state, limit: Number(opts.limit) || 50 });
        if (opts.json) return console.log(JSON.stringify(runs, null, 2));
        for (const r of runs) {
          const why = r.lastError ? `  ${r.lastError}` : '';
          console.log(`${r.createdAt}  ${r.action.padEnd(20)} ${r.state.padEnd(7)} attempts=${r.attempts} status=${r.responseStatus ?? '-'} event=${r.eventId} belt=${r.belt}${why}`);
        }
      }),
    );
}
