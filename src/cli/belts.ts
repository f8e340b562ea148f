import fs from 'node:fs';
import type { Command } from 'commander';
import { checkBelt } from '../belts/check';
import { parseBeltBody } from '../belts/definition';
import { PythonBeltPool } from '../belts/python';
import { listBeltErrors } from '../belts/errors';
import { deleteBelt, getBelt, listBelts, putBelt, setBeltRunning } from '../belts/registry';
import { loadConfig } from '../config';
import { currentProject, fail, withPool } from './resource';

/** A body file; `--source` replaces its extractorFn with a code file's text (a readable .js/.ts/.py). */
function readDefinition(file: string, source?: string): unknown {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  return source ? { ...body, extractorFn: fs.readFileSync(source, 'utf8') } : body;
}

function since(v: string | undefined): string | undefined {
  if (v !== undefined && Number.isNaN(Date.parse(v))) throw new Error(`--since: not a date: ${v}`);
  return v;
}

/** Starts a retry or backfill and follows it with a progress bar until it finishes. */
async function rerun(belt: string, mode: 'retry' | 'backfill', sinceOpt: string | undefined): Promise<void> {
  const cfg = loadConfig();
  let known = false;
  await withPool(async (pool) => {
    known = (await getBelt(pool, belt)) !== undefined;
    if (!known) fail(`no belt ${JSON.stringify(belt)}`);
  });
  if (!known) return;
  // Temporal's client and the progress bar load only for the commands that use them (CLI start-up).
  const [{ Client, Connection }, { default: cliProgress }, { rerunProgress, startRerun }] = await Promise.all([import('@temporalio/client'), import('cli-progress'), import('../belts/rerun')]);
  const connection = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
  try {
    const client = new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE });
    const workflowId = await startRerun(client, cfg.BELTLINE_TASK_QUEUE, { belt, mode, since: since(sinceOpt), project: currentProject() });
    console.log(`${mode} of ${belt}: workflow ${workflowId} (Temporal Web UI: http://127.0.0.1:${cfg.TEMPORAL_UI_PORT}/namespaces/${cfg.TEMPORAL_NAMESPACE}/workflows/${workflowId})`);
    const bar = new cliProgress.SingleBar({ format: `${mode} {bar} {value}/{total} events, {errors} errors`, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    const handle = client.workflow.getHandle(workflowId);
    for (;;) {
      const p = await rerunProgress(client, workflowId).catch(() => undefined);
      if (p) {
        if (!started) bar.start(p.total, 0, { errors: 0 });
        started = true;
        bar.setTotal(Math.max(p.total, p.done));
        bar.update(p.done, { errors: p.errors });
      }
      const { status } = await handle.describe();
      if (status.name !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 300));
    }
    const result = (await handle.result()) as { done: number; errors: number };
    if (started) {
      bar.update(result.done, { errors: result.errors });
      bar.stop();
    }
    console.log(`${mode} finished: ${result.done} events, ${result.errors} failed again`);
    if (result.errors > 0) process.exitCode = 1;
  } finally {
    await connection.close();
  }
}

export function registerBeltCommands(program: Command): void {
  const cmd = program.command('belts').description('belts: versioned, sandboxed functions execute(headers, payload, profile)');
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool) => {
        const belts = await listBelts(pool);
        if (opts.json) return console.log(JSON.stringify(belts, null, 2));
        for (const b of belts) {
          console.log(`${b.name.padEnd(24)} v${String(b.number).padEnd(4)} ${(b.running ? 'running' : 'stopped').padEnd(8)} ${b.definition.beltType.padEnd(16)} ${b.definition.eventTypes.join(',')}`);
        }
      }),
    );
  cmd.command('get <name>').action((name: string) =>
    withPool(async (pool) => {
      const b = await getBelt(pool, name);
      if (b) console.log(JSON.stringify(b, null, 2));
      else fail(`no belt ${JSON.stringify(name)}`);
    }),
  );
  for (const verb of ['create', 'update'] as const) {
    cmd
      .command(verb === 'create' ? 'create' : 'update <name>')
      .description(verb === 'create' ? 'create from a JSON body (seed 001)' : 'a new version from a JSON body')
      .requiredOption('--file <file>', 'JSON body')
      .option('--source <file>', 'take extractorFn from this code file')
      .action((a: string | { file: string; source?: string }, b?: { file: string; source?: string }) =>
        withPool(async (pool, project) => {
          const name = typeof a === 'string' ? a : undefined;
          const opts = (typeof a === 'string' ? b : a) as { file: string; source?: string };
          const def = parseBeltBody(readDefinition(opts.file, opts.source), name);
          const exists = await getBelt(pool, def.name);
          if (verb === 'create' && exists) return fail(`belt ${def.name} exists already; use update`);
          if (verb === 'update' && !exists) return fail(`no belt ${JSON.stringify(def.name)}`);
          if (def.beltType === 'python-callback') {
            const python = new PythonBeltPool({ processes: 1 });
            try {
              await checkBelt(pool, project, def, (src, file) => python.check(src, file));
            } finally {
              await python.close();
            }
          } else await checkBelt(pool, project, def);
          const head = await putBelt(pool, def, 'api');
          console.log(`belt ${head.name} is at version ${head.number} (${head.version})`);
        }),
      );
  }
  cmd.command('delete <name>').action((name: string) =>
    withPool(async (pool) => {
      if (await deleteBelt(pool, name)) console.log(`deleted belt ${name}`);
      else fail(`no belt ${JSON.stringify(name)}`);
    }),
  );
  for (const action of ['start', 'stop'] as const) {
    cmd.command(`${action} <name>`).action((name: string) =>
      withPool(async (pool) => {
        if (await setBeltRunning(pool, name, action === 'start')) console.log(`belt ${name} ${action === 'start' ? 'running' : 'stopped'}`);
        else fail(`no belt ${JSON.stringify(name)}`);
      }),
    );
  }
  cmd
    .command('errors <name>')
    .description('events the belt failed on, newest first')
    .option('--since <time>', 'ISO-8601')
    .option('--limit <n>', 'at most', (v) => Number.parseInt(v, 10), 50)
    .action((name: string, opts: { since?: string; limit: number }) =>
      withPool(async (pool) => {
        for (const e of await listBeltErrors(pool, name, { since: since(opts.since), limit: opts.limit })) {
          console.log(`${e.createdAt}  ${e.eventId}  ${e.error.kind}: ${e.error.message}`);
        }
      }),
    );
  cmd
    .command('retry <name>')
    .description('run the current version again on the events the belt failed on')
    .option('--since <time>', 'failures from then on (ISO-8601)')
    .action((name: string, opts: { since?: string }) => rerun(name, 'retry', opts.since));
  cmd
    .command('backfill <name>')
    .description('run the current version over stored events of its input types it never ran on')
    .requiredOption('--since <time>', 'events from then on (ISO-8601)')
    .action((name: string, opts: { since: string }) => rerun(name, 'backfill', opts.since));
}
