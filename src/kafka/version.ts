import { createRequire } from 'node:module';

/** The kafkajs installed, read from its package.json (which does not load kafkajs itself). */
export const KAFKAJS_VERSION: string = (createRequire(__filename)('kafkajs/package.json') as { version: string }).version;

/** The kafkajs beltline's fixes to it (grouping-fix.ts, idle-loop-fix.ts) were written against: they apply to it alone. */
export const PATCHED_VERSION = '2.2.4';

export const PATCHABLE: boolean = KAFKAJS_VERSION === PATCHED_VERSION;
