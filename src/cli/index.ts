import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config';
import { getHistory, getProfile } from '../profiles/store';
import { ROLES, type Role } from '../roles';
import type { Running } from '../server';
import { registerBeltCommands } from './belts';
import { registerEventTypeCommands } from './event-types';
import { registerEventCommands } from './events';
import { registerHarvesterCommands } from './harvesters';
import { registerRecoveryCommands } from './recovery';
import { registerActionCommands } from './actions';
import { registerExampleCommand } from './example';
import { registerReplayCommands } from './replay';
import { registerStatusCommand } from './status';
import { registerSegmentCommands } from './segments';
import { registerStackCommands } from './stack';
import { registerProjectCommands } from './projects';
import { registerSchemaCommands } from './schemas';
import { fail, projectOption, selectProject, withPool } from './resource';

function config(): Config {
  try {
    return loadConfig();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

const program = new Command('beltline').description('Real-time customer-profile pipeline').version('0.1.0');

program
  .command('start')
  .description('run beltline: collector, bridge and worker in one process, or the roles named')
  .addOption(new Option('--role <role...>', 'roles to run').choices([...ROLES, 'all']).default(['all']))
  .option('--belt <name>', 'with --role worker: poll only this belt\'s task queue')
  .option('--project <name>', 'with --belt: the belt\'s project', 'default')
  .action(async (opts: { role: string[]; belt?: string; project: string }) => {
    const roles: Role[] = opts.role.includes('all') ? [...ROLES] : (opts.role as Role[]);
    // Loaded here, not at the top: the server pulls in Temporal's worker, fastify and kafkajs, which
    // every other command (and --help) would otherwise wait for at each start.
    const { startBeltline, StartAborted } = await import('../server');
    const cfg = config();
    // Shutdown is bounded: past the grace, or on a second signal, the process goes at once. What
    // is cut short is safe to cut (an unanswered request, an uncommitted record, a step Temporal
    // retries), only slower to recover from.
    const force = (why: string): never => {
      console.error(`beltline: ${why}; exiting before the shutdown finished`);
      process.exit(1);
    };
    const aborted = new AbortController();
    const signalled = untilSignal().then(() => {
      aborted.abort();
      setTimeout(() => force(`shutdown took longer than BELTLINE_SHUTDOWN_GRACE (${cfg.BELTLINE_SHUTDOWN_GRACE} ms)`), cfg.BELTLINE_SHUTDOWN_GRACE).unref();
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => force(`${s} during shutdown`));
    });
    let running: Running;
    try {
      running = await startBeltline(cfg, roles, { belt: opts.belt, project: opts.project, signal: aborted.signal });
    } catch (err) {
      // Signalled while waiting for a dependency: nothing ran, nothing to drain.
      if (err instanceof StartAborted) process.exit(0);
      throw err;
    }
    await signalled;
    await running.stop();
    process.exit(0);
  });

program
  .command('dev')
  .description('start the local stack and beltline with the example belts; Ctrl-C stops what it started')
  .action(async () => {
    const cfg = config();
    const { stackDown, stackStatus, stackUp } = await import('../stack');
    const before = await stackStatus(cfg);
    const services = await stackUp(cfg);
    const startedHere = before.filter((s) => s.state === 'stopped').map((s) => s.name);
    const { startBeltline } = await import('../server');
    const running = await startBeltline(cfg, ROLES);
    const ui = services.find((s) => s.name === 'temporal')?.uiUrl;
    console.log(
      [
        '',
        'beltline is running.',
        `  collector      ${running.url}  (Snowplow tp2: ${running.url}/com.snowplowanalytics.snowplow/tp2)`,
        `  profiles       ${running.url}/projects/default/profiles/<id>  (Authorization: Bearer <admin key>)`,
        `  console        ${running.url}/console/  (sign in with the admin key)`,
        `  OpenAPI        ${running.url}/openapi.json`,
        `  Temporal UI    ${ui ?? 'n/a'}`,
        `  admin key      ${running.adminKey}${process.env.BELTLINE_ADMIN_KEY ? '' : '  (generated for this run; set BELTLINE_ADMIN_KEY to choose one)'}`,
        `  belts from     ${cfg.BELTLINE_BELTS_DIR}`,
        '',
        `Send events from a second terminal with \`BELTLINE_ADMIN_KEY=${running.adminKey} npm run demo\`. Ctrl-C stops.`,
        '',
      ].join('\n'),
    );
    await untilSignal();
    await running.stop();
    if (startedHere.length > 0) await stackDown(cfg, { only: startedHere });
    process.exit(0);
  });

program
  .command('migrate')
  .description('bring the database schema (every project\'s) up to date and exit: what a deployment runs once before its roles start')
  .action(async () => {
    const cfg = config();
    const [{ createPool }, { migrate }, { maskPassword }] = await Promise.all([import('../db/pool'), import('../db/migrate'), import('../stack/render')]);
    const pool = createPool(cfg.databaseUrl, 1);
    try {
      const applied = await migrate(pool).catch((err: unknown) => {
        // A refused connection to a name with several addresses is an AggregateError without a message.
        const reason = err instanceof Error ? err.message || (err as NodeJS.ErrnoException).code || err.name : String(err);
        throw new Error(`could not migrate ${maskPassword(cfg.databaseUrl)}: ${reason}`);
      });
      console.log(applied.length === 0 ? 'the schema is up to date' : `applied ${applied.length} migration${applied.length === 1 ? '' : 's'}: ${applied.join(', ')}`);
    } finally {
      await pool.end();
    }
  });

const profiles = program.command('profiles').description('read the profile graph');
profiles
  .command('get <id>')
  .description('print a profile document, pretty')
  .option('--history', 'with the values replaced at paths written with _set_with_history')
  .action(async (id: string, opts: { history?: boolean }) => {
    await withPool(async (pool) => {
      const profile = await getProfile(pool, id);
      if (!profile) fail(`no profile with id ${JSON.stringify(id)}`);
      else console.log(JSON.stringify(opts.history ? { ...profile, history: await getHistory(pool, id) } : profile, null, 2));
    });
  });

registerStackCommands(program);
registerEventTypeCommands(program);
registerHarvesterCommands(program);
registerActionCommands(program);
registerExampleCommand(program);
registerEventCommands(program);
registerBeltCommands(program);
registerRecoveryCommands(program);
registerReplayCommands(program);
registerStatusCommand(program);
registerSegmentCommands(program);
registerSchemaCommands(program);
registerProjectCommands(program);

/**
 * The commands that work on one project's data or definitions. `--project` is theirs rather than
 * the program's: commander would take a program option wherever it stands on the line, so a
 * command with its own `--project` (the worker's) would never see it.
 */
const PROJECT_COMMANDS = new Set(['profiles', 'event-types', 'harvesters', 'actions', 'events', 'belts', 'schemas', 'segments', 'recover', 'status', 'example', 'replay']);
const leaves = (c: Command): Command[] => (c.commands.length === 0 ? [c] : c.commands.flatMap(leaves));
for (const group of program.commands.filter((c) => PROJECT_COMMANDS.has(c.name()))) {
  for (const leaf of leaves(group)) leaf.addOption(projectOption());
}
program.hook('preAction', (_program, action) => selectProject(action));

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`beltline: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
