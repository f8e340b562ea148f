import type { Command } from 'commander';
import { browseEvents } from '../events/store';
import { getEventType } from '../eventtypes/store';
import { fail, withPool } from './resource';

export function registerEventCommands(program: Command): void {
  program
    .command('events <eventType>')
    .description('browse the event store: events of a type in time order, one JSON per line')
    .option('--from <time>', 'event time, inclusive (ISO-8601)')
    .option('--to <time>', 'event time, exclusive (ISO-8601)')
    .option('--limit <n>', 'events per page', (v) => Number.parseInt(v, 10), 20)
    .option('--after <cursor>', 'the cursor printed after the previous page')
    .action((eventType: string, opts: { from?: string; to?: string; limit: number; after?: string }) =>
      withPool(async (pool, project) => {
        for (const [field, v] of [['--from', opts.from], ['--to', opts.to]] as const) {
          if (v !== undefined && Number.isNaN(Date.parse(v))) return fail(`${field}: not a date: ${v}`);
        }
        if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000) return fail('--limit: a whole number from 1 to 1000');
        if (!(await getEventType(pool, project, eventType))) return fail(`no event type ${JSON.stringify(eventType)}`);
        const page = await browseEvents(pool, eventType, opts);
        for (const e of page.events) console.log(JSON.stringify(e));
        if (page.next) console.error(`more: --after ${page.next}`);
      }),
    );
}
