import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { BUILT_IN_TYPES, DefinitionError, parseEventTypeBody } from '../eventtypes/definition';
import { createEventType, deleteEventType, getEventType, listEventTypes, updateEventType } from '../eventtypes/store';
import { DEFAULT_PROJECT } from '../http/projects';

/** Runs a CLI action with a migrated pool; a DefinitionError is reported with the field it names. */
async function withPool(fn: (pool: ReturnType<typeof createPool>) => Promise<void>): Promise<void> {
  const pool = createPool(loadConfig().databaseUrl, 1);
  try {
    await migrate(pool);
    await fn(pool);
  } catch (err) {
    if (err instanceof DefinitionError) {
      console.error(`invalid event type: ${err.message}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  } finally {
    await pool.end();
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

function fail(message: string): void {
  console.error(message);
  process.exitCode = 1;
}

export function registerEventTypeCommands(program: Command): void {
  const cmd = program.command('event-types').description('event types (seed 001): data_in, live_segment, time_to_live, time_to_notify');
  const project = DEFAULT_PROJECT;

  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool) => {
        const types = await listEventTypes(pool, project);
        if (opts.json) console.log(JSON.stringify(types, null, 2));
        else for (const t of types) console.log(`${t.name.padEnd(24)} ${t.type.padEnd(15)} ${t.displayName}`);
      }),
    );

  cmd.command('get <name>').action((name: string) =>
    withPool(async (pool) => {
      const t = await getEventType(pool, project, name);
      if (t) console.log(JSON.stringify(t, null, 2));
      else fail(`no event type ${JSON.stringify(name)}`);
    }),
  );

  cmd
    .command('create')
    .description('create from a JSON file with the API\'s body (seed 001)')
    .requiredOption('--file <file>', 'JSON body')
    .action((opts: { file: string }) =>
      withPool(async (pool) => {
        const t = parseEventTypeBody(readJson(opts.file));
        if (await createEventType(pool, project, t)) console.log(`created event type ${t.name}`);
        else fail(`event type ${t.name} exists already; use update`);
      }),
    );

  cmd
    .command('update <name>')
    .requiredOption('--file <file>', 'JSON body')
    .action((name: string, opts: { file: string }) =>
      withPool(async (pool) => {
        if (BUILT_IN_TYPES.has(name)) return fail(`${name} is built in and cannot be changed`);
        const t = parseEventTypeBody(readJson(opts.file), name);
        if (await updateEventType(pool, project, t)) console.log(`updated event type ${t.name}`);
        else fail(`no event type ${JSON.stringify(name)}`);
      }),
    );

  cmd.command('delete <name>').action((name: string) =>
    withPool(async (pool) => {
      if (BUILT_IN_TYPES.has(name)) return fail(`${name} is built in and cannot be deleted`);
      if (await deleteEventType(pool, project, name)) console.log(`deleted event type ${name}`);
      else fail(`no event type ${JSON.stringify(name)}`);
    }),
  );
}
