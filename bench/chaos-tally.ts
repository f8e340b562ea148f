/**
 * The fault campaign's bookkeeping, pure: what the load generator was told (which events were
 * accepted, when) against what the counting belts wrote (how often each event was applied, when).
 * Every campaign event has a profile of its own, so its counters count its applications exactly.
 */

/** What the profile of one event holds: one counter per counting belt, and when it was last written. */
export interface AppliedEvent {
  counts: readonly number[];
  writtenAt: number;
}

export interface Tally {
  /** Events whose request was answered 2xx. */
  accepted: number;
  /** Per counting belt: the sum of its counters over the accepted events (each should be `accepted`). */
  applied: number[];
  /** Accepted events some counting belt never applied. */
  lost: number;
  /** Events (accepted or not) some counting belt applied more than once. */
  doubled: number;
  /** Events whose request got no 2xx (an error answer, a timeout, a refused connection). */
  unacknowledged: number;
  /** Of those, the ones applied anyway: the collector had them stored before the answer was lost. */
  unacknowledgedApplied: number;
  /** The longest time from an accepted event's 2xx to its profile's last write, ms; null when none was applied. */
  maxDelayMs: number | null;
}

const fullyApplied = (row: AppliedEvent | undefined, belts: number): row is AppliedEvent => row !== undefined && row.counts.length === belts && row.counts.every((c) => c >= 1);

export function tally(accepted: ReadonlyMap<string, number>, unacknowledged: ReadonlySet<string>, rows: ReadonlyMap<string, AppliedEvent>, belts: number): Tally {
  const applied = Array.from({ length: belts }, () => 0);
  let lost = 0;
  let doubled = 0;
  let maxDelayMs: number | null = null;
  for (const [id, ackAt] of accepted) {
    const row = rows.get(id);
    for (let b = 0; b < belts; b++) applied[b] += row?.counts[b] ?? 0;
    if (!fullyApplied(row, belts)) lost++;
    else maxDelayMs = Math.max(maxDelayMs ?? 0, row.writtenAt - ackAt);
  }
  let unacknowledgedApplied = 0;
  for (const id of unacknowledged) if (rows.get(id)?.counts.some((c) => c >= 1)) unacknowledgedApplied++;
  for (const [id, row] of rows) if ((accepted.has(id) || unacknowledged.has(id)) && row.counts.some((c) => c > 1)) doubled++;
  return { accepted: accepted.size, applied, lost, doubled, unacknowledged: unacknowledged.size, unacknowledgedApplied, maxDelayMs };
}

/** Whether every accepted event has been applied by every counting belt. */
export function allApplied(accepted: ReadonlyMap<string, number>, rows: ReadonlyMap<string, AppliedEvent>, belts: number): boolean {
  for (const id of accepted.keys()) if (!fullyApplied(rows.get(id), belts)) return false;
  return true;
}

/**
 * When the pipeline had caught up with a fault: the last write of any event accepted up to
 * `until` (the end of the outage), or null while one of them is not applied yet. Events accepted
 * later meet a healthy pipeline; events accepted before the fault but still in flight are those a
 * fault holds up longest.
 */
export function caughtUpAt(accepted: ReadonlyMap<string, number>, rows: ReadonlyMap<string, AppliedEvent>, belts: number, until: number): number | null {
  let last = 0;
  for (const [id, ackAt] of accepted) {
    if (ackAt > until) continue;
    const row = rows.get(id);
    if (!fullyApplied(row, belts)) return null;
    last = Math.max(last, row.writtenAt);
  }
  return last;
}
