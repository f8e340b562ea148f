/**
 * beltline's one door to kafkajs's values (types may come from kafkajs itself; the lint refuses
 * the rest), so that the fixes to kafkajs 2.2.4 are in place before anything uses it.
 */
// First, before kafkajs loads: kafkajs takes its message grouping when it loads.
import { linearGrouping } from './grouping-fix';
import { Kafka, logLevel } from 'kafkajs';
import { fixKafkajsIdleLoop } from './idle-loop-fix';
import { KAFKAJS_VERSION, PATCHABLE } from './version';

/** Whether the idle-loop fix is in place (see idle-loop-fix.ts). */
export const idleLoopFixed: boolean = fixKafkajsIdleLoop();

/**
 * What a process says of its kafkajs when it starts, so an operator sees a fix that is not in
 * place: another kafkajs version (expected: neither applies), or 2.2.4 loaded before this module.
 */
export function kafkajsReport(): { version: string; idleLoopFix: boolean; groupingFix: boolean; missing: boolean } {
  return { version: KAFKAJS_VERSION, idleLoopFix: idleLoopFixed, groupingFix: linearGrouping, missing: PATCHABLE && !(idleLoopFixed && linearGrouping) };
}

export { Kafka, linearGrouping, logLevel };
