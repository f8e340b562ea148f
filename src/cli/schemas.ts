import fs from 'node:fs';
import type { Command } from 'commander';
import { InvalidSchemaError, SchemaConflictError, SchemaRegistry } from '../schemas/registry';
import { EXIT_USAGE, fail, withPool } from './resource';

/** `beltline schemas list|get|create`: a project's Iglu schemas, the registry the API's /schemas routes use. */
export function registerSchemaCommands(program: Command): void {
  const cmd = program.command('schemas').description("Iglu schemas: self-describing JSON Schemas events and entities are validated against; keys are immutable");
  cmd
    .command('list')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) =>
      withPool(async (pool) => {
        const all = await new SchemaRegistry(pool).list();
        if (opts.json) console.log(JSON.stringify(all, null, 2));
        else for (const s of all) console.log(s.key);
      }),
    );
  cmd.command('get <key>').description('iglu:vendor/name/format/M-R-A').action((key: string) =>
    withPool(async (pool) => {
      const schema = await new SchemaRegistry(pool).get(key);
      if (schema === undefined) fail(`no schema ${JSON.stringify(key)}`);
      else console.log(JSON.stringify(schema, null, 2));
    }),
  );
  cmd
    .command('create')
    .description("store a self-describing schema from a JSON file (the API's body)")
    .requiredOption('--file <file>', 'the schema')
    .action((opts: { file: string }) =>
      withPool(async (pool) => {
        let body: unknown;
        try {
          body = JSON.parse(fs.readFileSync(opts.file, 'utf8'));
        } catch (err) {
          throw new Error(`${opts.file}: ${(err as Error).message}`);
        }
        try {
          const { key, created } = await new SchemaRegistry(pool).put(body);
          console.log(created ? `created schema ${key}` : `schema ${key} is stored already, the same`);
        } catch (err) {
          if (err instanceof SchemaConflictError) return fail(`${err.message}: keys are immutable; publish a new version`);
          if (!(err instanceof InvalidSchemaError)) throw err;
          console.error(`invalid schema: ${err.message}`);
          process.exitCode = EXIT_USAGE;
        }
      }),
    );
}
