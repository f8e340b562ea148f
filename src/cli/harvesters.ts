import type { Command } from 'commander';
import { parseHarvesterBody } from '../harvesters/definition';
import { createHarvester, deleteHarvester, getHarvester, listHarvesters, updateHarvester } from '../harvesters/store';
import { fail, registerResourceCommands, withPool } from './resource';

export function registerHarvesterCommands(program: Command): void {
  const cmd = registerResourceCommands(program, {
    command: 'harvesters',
    noun: 'harvester',
    description: 'harvesters (seed 001): source → sandboxed transform → event type',
    parse: parseHarvesterBody,
    list: listHarvesters,
    get: getHarvester,
    create: createHarvester,
    update: updateHarvester,
    remove: deleteHarvester,
    line: (h) => `${h.name.padEnd(24)} ${(h.running ? 'running' : 'stopped').padEnd(8)} ${(h.source.kind === 'collector' ? 'collector' : `${h.source.kind}:${h.source.topic}`).padEnd(24)} → ${h.eventType}`,
  });
  for (const action of ['start', 'stop'] as const) {
    cmd.command(`${action} <name>`).action((name: string) =>
      withPool(async (pool, project) => {
        const h = await getHarvester(pool, project, name);
        if (!h) return fail(`no harvester ${JSON.stringify(name)}`);
        await updateHarvester(pool, project, { ...h, running: action === 'start' });
        console.log(`harvester ${name} ${action === 'start' ? 'running' : 'stopped'}`);
      }),
    );
  }
}
