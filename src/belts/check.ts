import type { Pool } from 'pg';
import { DefinitionError } from '../shared/errors';
import { listEventTypes } from '../eventtypes/store';
import { javascriptSource, type BeltDefinition } from './definition';
import { BeltCompileError, BeltSandbox } from './sandbox';

/** Compiles a Python belt (the Python pool's check); absent, Python belts are compiled when first run. */
export type PythonCheck = (source: string, filename: string) => Promise<void>;

/**
 * What a belt definition must satisfy before it is stored in `project` (`pool` its schema's): its input types exist, its outputs are
 * live_segment or data_in types that exist, and its code compiles. Errors name the field.
 */
export async function checkBelt(pool: Pool, project: string, def: BeltDefinition, pythonCheck?: PythonCheck): Promise<void> {
  const types = new Map((await listEventTypes(pool, project)).map((t) => [t.name, t]));
  def.eventTypes.forEach((name, i) => {
    if (!types.has(name)) throw new DefinitionError(`eventTypes.${i}`, `unknown event type ${JSON.stringify(name)}`);
  });
  def.outputTypes.forEach((o, i) => {
    const t = types.get(o.name);
    if (!t) throw new DefinitionError(`outputTypes.${i}.name`, `unknown event type ${JSON.stringify(o.name)}`);
    if (t.type !== 'live_segment' && t.type !== 'data_in') {
      throw new DefinitionError(`outputTypes.${i}.name`, `${o.name} is ${t.type}; a belt writes to live_segment or data_in types`);
    }
  });
  const filename = `${def.name}.${def.beltType === 'python-callback' ? 'py' : 'js'}`;
  try {
    if (def.beltType === 'python-callback') await pythonCheck?.(def.extractorFn, filename);
    else (await BeltSandbox.create(javascriptSource(def), filename)).dispose();
  } catch (err) {
    if (err instanceof BeltCompileError) throw new DefinitionError('extractorFn', err.message);
    throw err;
  }
}
