import fs from 'node:fs';
import { Option, type Command } from 'commander';
import type { Pool } from 'pg';
import { loadConfig } from '../config';
import { createPool } from '../db/pool';
import { migrate } from '../db/migrate';
import { DEFAULT_PROJECT, projectNameProblem } from '../projects/names';
import { Projects } from '../projects/service';
import { DefinitionError } from '../shared/errors';

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

/** Exit code of a command given a name that cannot be a project's (or a bad definition). */
export const EXIT_USAGE = 2;

/** `--project <name>` of every command that reads or writes a project's data or definitions. */
export function projectOption(): Option {
  return new Option('--project <name>', 'the project whose tables the command works on').env('BELTLINE_PROJECT').default(DEFAULT_PROJECT);
}

/**
 * The project the running command names (`--project`, else BELTLINE_PROJECT, else default). Set
 * once per process by the program's preAction hook, before any action runs: a CLI process runs
 * exactly one command, and this spares every action from threading its options through.
 */
let selectedProject = DEFAULT_PROJECT;

/** Takes the command's `--project`; a name that cannot be a project's ends the process (exit 2), naming the rule. */
export function selectProject(command: Command): void {
  const { project } = command.opts<{ project?: string }>();
  if (project === undefined) return;
  exitOnBadName(project);
  selectedProject = project;
}

export function currentProject(): string {
  return selectedProject;
}

/** Ends the process (exit 2) when `name` cannot name a project, saying which rule it breaks. */
export function exitOnBadName(name: string): void {
  const problem = projectNameProblem(name);
  if (problem === undefined) return;
  console.error(`invalid project name ${JSON.stringify(name)}: ${problem}`);
  process.exit(EXIT_USAGE);
}

/**
 * Runs `fn` with the project registry of a migrated database; the pools are closed after. The
 * CLI works on PostgreSQL directly, as a server process does: through `Projects`.
 */
export async function withProjects(fn: (projects: Projects) => Promise<void>): Promise<void> {
  const cfg = loadConfig();
  const instance = createPool(cfg.databaseUrl, 1);
  const projects = new Projects(instance, cfg.databaseUrl, 1);
  try {
    await migrate(instance);
    await fn(projects);
  } finally {
    await projects.end();
    await instance.end();
  }
}

/** The message for a project the registry does not hold. */
export function unknownProject(project: string): string {
  return `unknown project ${JSON.stringify(project)}: \`beltline projects list\` shows the projects, \`beltline projects create ${project}\` makes it`;
}

/**
 * Runs a CLI action with the pool of the selected project's schema (an unknown project fails,
 * exit 1, naming it); a DefinitionError is reported with the field it names.
 */
export async function withPool(fn: (pool: Pool, project: string) => Promise<void>): Promise<void> {
  const project = selectedProject;
  await withProjects(async (projects) => {
    if (!(await projects.exists(project))) return fail(unknownProject(project));
    try {
      await fn(projects.db(project), project);
    } catch (err) {
      if (!(err instanceof DefinitionError)) throw err;
      console.error(`invalid definition: ${err.message}`);
      process.exitCode = EXIT_USAGE;
    }
  });
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
  const refuseBuiltIn = (name: string): boolean => {
    if (!r.builtIn?.has(name)) return false;
    fail(`${r.noun} ${name} is built in and cannot be changed or deleted`);
    return true;
  };
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool, project) => {
        const items = await r.list(pool, project);
        if (opts.json) console.log(JSON.stringify(items, null, 2));
        else for (const item of items) console.log(r.line(item));
      }),
    );
  cmd.command('get <name>').action((name: string) =>
    withPool(async (pool, project) => {
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
      withPool(async (pool, project) => {
        const item = r.parse(readJson(opts.file));
        if (await r.create(pool, project, item)) console.log(`created ${r.noun} ${item.name}`);
        else fail(`${r.noun} ${item.name} exists already; use update`);
      }),
    );
  cmd
    .command('update <name>')
    .requiredOption('--file <file>', 'JSON body')
    .action((name: string, opts: { file: string }) =>
      withPool(async (pool, project) => {
        if (refuseBuiltIn(name)) return;
        const item = r.parse(readJson(opts.file), name);
        if (await r.update(pool, project, item)) console.log(`updated ${r.noun} ${item.name}`);
        else fail(`no ${r.noun} ${JSON.stringify(name)}`);
      }),
    );
  cmd.command('delete <name>').action((name: string) =>
    withPool(async (pool, project) => {
      if (refuseBuiltIn(name)) return;
      if (await r.remove(pool, project, name)) console.log(`deleted ${r.noun} ${name}`);
      else fail(`no ${r.noun} ${JSON.stringify(name)}`);
    }),
  );
  return cmd;
}
