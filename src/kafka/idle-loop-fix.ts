/**
 * kafkajs 2.2.4, its last release, keeps every broker connection in a 1 ms timer loop once its
 * first request was answered: `RequestQueue.scheduleCheckPendingRequests` sets a timeout of
 * `throttledUntil - Date.now()`, negative when nothing is throttled (node runs it after 1 ms), and
 * the check it runs schedules the next one whether or not anything is pending (tulios/kafkajs
 * #1556, #1604, #1704; the fixes #1667 and #1768 were never merged). Here every wake-up of an idle
 * process costs 100-160 µs of CPU, so each connection burnt about a tenth of a core doing nothing:
 * an idle bridge woke 840 times a second.
 *
 * The replacement schedules a check only when there is something to check: a pending request
 * (sent once an in-flight one is answered, or after CHECK_PENDING_REQUESTS_INTERVAL as before), or
 * a throttle that ends later. A request pushed while nothing is pending is sent at once or, if it
 * must wait, schedules its own check (`push` calls this with the request pending), and an answered
 * request checks the queue itself (`fulfillRequest`). Applied to the class's prototype, so it holds
 * for connections made before and after, and only to the version it was written against.
 */
import { createRequire } from 'node:module';
import { PATCHABLE } from './version';

/** What of kafkajs's internal RequestQueue the replacement reads and writes. */
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's own CHECK_PENDING_REQUESTS_INTERVAL (src/network/requestQueue/index.js). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
const MARK = Symbol.for('beltline.kafkajs.idleLoopFix');

/** The fixed scheduling, as a function of the queue it runs on. */
export function scheduleCheckPendingRequests(this: RequestQueueInternals): void {
  if (this.throttleCheckTimeoutId) return;
  let scheduleAt = this.throttledUntil - Date.now();
  if (this.pending.length > 0) scheduleAt = scheduleAt > 0 ? scheduleAt : CHECK_PENDING_REQUESTS_INTERVAL;
  // Nothing waits and nothing is throttled: nothing to check until a request comes.
  else if (scheduleAt <= 0) return;
  this.throttleCheckTimeoutId = setTimeout(() => {
    this.throttleCheckTimeoutId = null;
    this.checkPendingRequests();
  }, scheduleAt);
}

/**
 * Installs the fix on kafkajs's RequestQueue; true if it is in place. A kafkajs other than the
 * one it was written against is left as it is. src/kafka/kafkajs.ts calls it once, when it loads,
 * so it is in place before any client exists; the mark keeps a second copy of this module (jest's
 * registry) from installing it again.
 */
export function fixKafkajsIdleLoop(): boolean {
  if (!PATCHABLE) return false;
  const RequestQueue = createRequire(__filename)('kafkajs/src/network/requestQueue') as { prototype: RequestQueueInternals & { [MARK]?: true } };
  const proto = RequestQueue.prototype;
  if (proto[MARK]) return true;
  if (typeof proto.scheduleCheckPendingRequests !== 'function' || typeof proto.checkPendingRequests !== 'function') return false;
  proto.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
  proto[MARK] = true;
  return true;
}
