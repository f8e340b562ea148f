import type { Command } from 'commander';
import type { KeyKind } from '../projects/keys';
import { DEFAULT_PROJECT, projectSchema } from '../projects/names';
import { setRequireWriteKey, type IssuedKeys, type Project } from '../projects/store';
import { EXIT_USAGE, exitOnBadName, fail, unknownProject, withProjects } from './resource';

/** The line printed under keys: they are not stored, so this is the only time anyone sees them. */
export const SHOWN_ONCE = 'These keys are shown once: beltline keeps only their hashes. Store them now; `beltline projects rotate-keys` issues new ones.';

function printKeys(keys: IssuedKeys): void {
  if (keys.adminKey) console.log(`  admin key  ${keys.adminKey}`);
  if (keys.writeKey) console.log(`  write key  ${keys.writeKey}`);
  console.log(SHOWN_ONCE);
}

function line(p: Project): string {
  const keys = [p.hasAdminKey ? 'admin key' : '', p.hasWriteKey ? `write key${p.requireWriteKey ? ' (required)' : ''}` : ''].filter(Boolean).join(', ');
  return `${p.name.padEnd(24)} ${p.schema.padEnd(32)} ${p.displayName}${keys ? `  [${keys}]` : ''}`;
}

/** `beltline projects …` (seed 001's Step 1): create, list, read, rotate keys, delete with --confirm. */
export function registerProjectCommands(program: Command): void {
  const cmd = program.command('projects').description('projects: namespaces with their own schema, topics, definitions, workers and keys');

  cmd
    .command('create <name>')
    .description('create a project (its schema and the Iglu schemas beltline ships) and print its keys, once')
    .option('--display-name <text>', 'a name for people (default: the name)')
    .option('--require-write-key', "the collector takes this project's events only with its write key")
    .option('--json', 'print JSON (the project and its keys)')
    .action((name: string, opts: { displayName?: string; requireWriteKey?: boolean; json?: boolean }) => {
      exitOnBadName(name);
      return withProjects(async (projects) => {
        const made = await projects.create({ name, displayName: opts.displayName ?? name, requireWriteKey: opts.requireWriteKey === true });
        if (!made) return fail(`project ${JSON.stringify(name)} exists already`);
        if (opts.json) return console.log(JSON.stringify({ ...made.project, ...made.keys }, null, 2));
        console.log(`created project ${name} (PostgreSQL schema ${made.project.schema})`);
        printKeys(made.keys);
      });
    });

  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withProjects(async (projects) => {
        const all = await projects.list();
        if (opts.json) console.log(JSON.stringify(all, null, 2));
        else for (const p of all) console.log(line(p));
      }),
    );

  cmd.command('get <name>').action((name: string) => {
    exitOnBadName(name);
    return withProjects(async (projects) => {
      const p = await projects.get(name);
      if (p) console.log(JSON.stringify(p, null, 2));
      else fail(unknownProject(name));
    });
  });

  cmd
    .command('rotate-keys <name>')
    .description('new keys (both unless --admin or --write names one); the old ones stop working at once')
    .option('--admin', 'the admin key')
    .option('--write', 'the write key')
    .action((name: string, opts: { admin?: boolean; write?: boolean }) => {
      exitOnBadName(name);
      const kinds: KeyKind[] = opts.admin || opts.write ? [...(opts.admin ? ['admin' as const] : []), ...(opts.write ? ['write' as const] : [])] : ['admin', 'write'];
      return withProjects(async (projects) => {
        const issued = await projects.rotate(name, kinds);
        if (!issued) return fail(unknownProject(name));
        console.log(`new ${kinds.join(' and ')} key${kinds.length > 1 ? 's' : ''} for project ${name}; the old one${kinds.length > 1 ? 's' : ''} no longer open${kinds.length > 1 ? '' : 's'} anything`);
        printKeys(issued);
      });
    });

  cmd
    .command('set <name>')
    .description("change a project's settings (PATCH /projects/<name>)")
    .option('--require-write-key', "the collector takes this project's events only with its write key")
    .option('--no-require-write-key', "the collector takes this project's events without a key")
    .action((name: string, opts: { requireWriteKey?: boolean }) => {
      exitOnBadName(name);
      if (opts.requireWriteKey === undefined) {
        console.error('nothing to change: give --require-write-key or --no-require-write-key');
        process.exitCode = EXIT_USAGE;
        return;
      }
      const require = opts.requireWriteKey;
      return withProjects(async (projects) => {
        if (!(await setRequireWriteKey(projects.instance, name, require))) return fail(unknownProject(name));
        console.log(`project ${name}: the collector ${require ? 'requires its write key' : 'takes its events without a key'}`);
      });
    });

  cmd
    .command('delete <name>')
    .description('drop a project: its schema with every table in it, and its belt workers stop (needs --confirm)')
    .option('--confirm', 'yes, drop it with all its data')
    .action((name: string, opts: { confirm?: boolean }) => {
      exitOnBadName(name);
      if (name === DEFAULT_PROJECT) {
        console.error('the default project cannot be deleted');
        process.exitCode = EXIT_USAGE;
        return;
      }
      const what = `PostgreSQL schema ${projectSchema(name)} and every table in it (profiles, history, events, belt outputs, bad rows, live-segment tables, dead letters, definitions), and its belt workers stop`;
      if (!opts.confirm) {
        console.error(`not deleted: deleting project ${name} drops its ${what}. Run again with --confirm to do it.`);
        process.exitCode = EXIT_USAGE;
        return;
      }
      return withProjects(async (projects) => {
        if (!(await projects.drop(name))) return fail(unknownProject(name));
        console.log(`deleted project ${name}: dropped its ${what}`);
      });
    });
}
