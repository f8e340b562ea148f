import fs from 'node:fs';
import type { Command } from 'commander';
import type { Pool } from 'pg';
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { DefinitionError } from '../shared/errors';
import { DEFAULT_PROJECT } from '../http/projects';

/** What a CLI command group needs of an admin resource; the same store functions the API uses. */
export interface CliResource<T extends { name: string }> {
  command: string;
  noun: string;
  description: string;
  parse(body: unknown, fixedName?: string): T;
  list(pool: Pool, project: string): Promise<T[]>;
  get(pool: Pool, project: string, name: string): Promise<T | undefined>;
  create(pool: Pool, project: string, item: T): Promise<boolean>;
  update(pool: Pool, project: string, item: T): Promise<boolean>;
  remove(pool: Pool, project: string, name: string): Promise<boolean>;
  /** One line of `list`. */
  line(item: T): string;
  builtIn?: ReadonlySet<string>;
}

/** Runs a CLI action with a migrated pool; a DefinitionError is reported with the field it names. */
export async function withPool(fn: (pool: Pool) => Promise<void>): Promise<void> {
  const pool = createPool(loadConfig().databaseUrl, 1);
  try {
    await migrate(pool);
    await fn(pool);
  } catch (err) {
    if (!(err instanceof DefinitionError)) throw err;
    console.error(`invalid definition: ${err.message}`);
    process.exitCode = 2;
  } finally {
    await pool.end();
  }
}

export function fail(message: string): void {
  console.error(message);
  process.exitCode = 1;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** `<command> list|get|create|update|delete`, straight on PostgreSQL with the API's validation. */
export function registerResourceCommands<T extends { name: string }>(program: Command, r: CliResource<T>): Command {
  const cmd = program.command(r.command).description(r.description);
  const project = DEFAULT_PROJECT;
  const refuseBuiltIn = (name: string): boolean => {
    if (!r.builtIn?.has(name)) return false;
    fail(`${r.noun} ${name} is built in and cannot be changed or deleted`);
    return true;
  };
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool) => {
        const items = await r.list(pool, project);
        if (opts.json) console.log(JSON.stringify(items, null, 2));
        else for (const item of items) console.log(r.line(item));
      }),
    );
  cmd.command('get <name>').action((name: string) =>
    withPool(async (pool) => {
      const item = await r.get(pool, project, name);
      if (item) console.log(JSON.stringify(item, null, 2));
      else fail(`no ${r.noun} ${JSON.stringify(name)}`);
    }),
  );
  cmd
    .command('create')
    .description('create from a JSON file holding the API\'s body')
    .requiredOption('--file <file>', 'JSON body')
    .action((opts: { file: string }) =>
      withPool(async (pool) => {
        const item = r.parse(readJson(opts.file));
        if (await r.create(pool, project, item)) console.log(`created ${r.noun} ${item.name}`);
        else fail(`${r.noun} ${item.name} exists already; use update`);
      }),
    );
  cmd
    .command('update <name>')
    .requiredOption('--file <file>', 'JSON body')
    .action((name: string, opts: { file: string }) =>
      withPool(async (pool) => {
        if (refuseBuiltIn(name)) return;
        const item = r.parse(readJson(opts.file), name);
        if (await r.update(pool, project, item)) console.log(`updated ${r.noun} ${item.name}`);
        else fail(`no ${r.noun} ${JSON.stringify(name)}`);
      }),
    );
  cmd.command('delete <name>').action((name: string) =>
    withPool(async (pool) => {
      if (refuseBuiltIn(name)) return;
      if (await r.remove(pool, project, name)) console.log(`deleted ${r.noun} ${name}`);
      else fail(`no ${r.noun} ${JSON.stringify(name)}`);
    }),
  );
  return cmd;
}
