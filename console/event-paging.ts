/**
 * The event browser's paging, pure: the API pages newest first with a `next` cursor that only
 * goes back in time, so "Newer" returns to the cursor a page was reached with, kept on a stack.
 */
export interface Paging {
  /** The cursors that led to the page shown; empty on the newest page. */
  stack: readonly string[];
}

export const NEWEST: Paging = { stack: [] };

/** The `after` to ask for the page shown (none on the newest page). */
export function cursorOf(p: Paging): string | undefined {
  return p.stack[p.stack.length - 1];
}

export function older(p: Paging, next: string | null): Paging {
  return next ? { stack: [...p.stack, next] } : p;
}

export function newer(p: Paging): Paging {
  return { stack: p.stack.slice(0, -1) };
}

export function pageNumber(p: Paging): number {
  return p.stack.length + 1;
}

/** Which of a reloaded page's events were not on it before: new arrivals, to mark. */
export function arrivals(before: readonly { eventId: string }[] | undefined, after: readonly { eventId: string }[]): Set<string> {
  if (!before) return new Set();
  const seen = new Set(before.map((e) => e.eventId));
  return new Set(after.filter((e) => !seen.has(e.eventId)).map((e) => e.eventId));
}
