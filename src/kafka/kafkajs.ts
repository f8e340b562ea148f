/**
 * beltline's one door to kafkajs's values (types may come from kafkajs itself; the lint refuses
 * the rest), so that the fixes to kafkajs 2.2.4 are in place before anything uses it.
 */
// First, before kafkajs loads: kafkajs takes its message grouping when it loads.
import { linearGrouping } from './grouping-fix';
import { Kafka, logLevel } from 'kafkajs';
import { fixKafkajsIdleLoop } from './idle-loop-fix';

/** Whether the idle-loop fix is in place (see idle-loop-fix.ts). */
export const idleLoopFixed: boolean = fixKafkajsIdleLoop();

export { Kafka, linearGrouping, logLevel };
