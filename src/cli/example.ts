import crypto from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { ExampleError, readExample } from '../examples/folder';
import { currentProject } from './resource';

interface ExampleOptions {
  url: string;
  adminKey?: string;
  run?: string;
  actionUrl: string[];
  receiver?: string;
  wait: string;
}

const collect = (v: string, all: string[]): string[] => [...all, v];

/** `beltline example <dir>`: an example folder's definitions through the admin API, then its events. */
export function registerExampleCommand(program: Command): void {
  program
    .command('example <dir>')
    .description('run an example folder (examples/README.md) against a running beltline: create or update its event types, harvesters, actions and belts, then send its events')
    .option('--url <url>', 'beltline\'s base URL (admin API and collector)', process.env.BELTLINE_URL ?? 'http://127.0.0.1:8080')
    .option('--admin-key <key>', 'the instance admin key, or the project\'s (default: BELTLINE_ADMIN_KEY)')
    .option('--run <id>', 'replaces ${run} in events.json, so each run has fresh users (default: random)')
    .option('--action-url <name=url>', 'send an action to this URL instead of its definition\'s (repeatable)', collect, [])
    .option('--receiver <port>', 'start a receiver on 127.0.0.1:<port>, point every action at it and print what arrives')
    .option('--wait <seconds>', 'with --receiver: how long to keep receiving after the events were sent', '15')
    .action(async (dir: string, opts: ExampleOptions) => {
      const adminKey = opts.adminKey ?? process.env.BELTLINE_ADMIN_KEY;
      if (!adminKey) {
        console.error('beltline example: no admin key; pass --admin-key or set BELTLINE_ADMIN_KEY (beltline prints the key it uses at start)');
        process.exitCode = 2;
        return;
      }
      const run = opts.run ?? crypto.randomBytes(3).toString('hex');
      const print = (line: string): void => console.log(line);
      // The example runner brings Snowplow's tracker: loaded for this command alone.
      const { runExample, startReceiver } = await import('../examples/run');
      let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
      try {
        const folder = readExample(path.resolve(dir), { run });
        const actionUrls: Record<string, string> = {};
        if (opts.receiver) {
          const port = Number(opts.receiver);
          receiver = await startReceiver(port, (r) => print(`received ${r.path} Idempotency-Key=${r.idempotencyKey ?? '-'} ${JSON.stringify(r.body)}`));
          for (const a of folder.actions) if (typeof a.body.name === 'string') actionUrls[a.body.name] = `${receiver.url}/${a.body.name}`;
          print(`receiving webhooks on ${receiver.url}`);
        }
        for (const pair of opts.actionUrl) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new ExampleError(`--action-url ${pair}: expected name=url`);
          actionUrls[pair.slice(0, eq)] = pair.slice(eq + 1);
        }
        print(`example ${path.basename(folder.dir)} against ${opts.url} (run ${run})`);
        const project = currentProject();
        const { profiles } = await runExample(folder, { url: opts.url, adminKey, project, actionUrls, print });
        for (const id of profiles) {
          print(`profile: bin/beltline profiles get ${id} --project ${project}   (or curl -H "Authorization: Bearer <admin key>" ${opts.url}/projects/${project}/profiles/${encodeURIComponent(id)})`);
        }
        if (receiver) {
          print(`waiting ${opts.wait} s for webhooks…`);
          await new Promise((r) => setTimeout(r, Number(opts.wait) * 1000));
        }
        print('done');
      } catch (err) {
        if (!(err instanceof ExampleError)) throw err;
        console.error(`beltline example: ${err.message}`);
        process.exitCode = 1;
      } finally {
        await receiver?.close();
      }
    });
}
