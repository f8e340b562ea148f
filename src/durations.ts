import { parse } from 'tinyduration';

const DAY = 86_400_000;

/**
 * Milliseconds of an ISO-8601 duration (P3M, PT30S, P100Y); months count 30 days and years 365,
 * which is what expiry and retention need. Throws on text that is not a duration.
 */
export function durationMs(text: string): number {
  const d = parse(text);
  const ms =
    (d.years ?? 0) * 365 * DAY +
    (d.months ?? 0) * 30 * DAY +
    (d.weeks ?? 0) * 7 * DAY +
    (d.days ?? 0) * DAY +
    (d.hours ?? 0) * 3_600_000 +
    (d.minutes ?? 0) * 60_000 +
    (d.seconds ?? 0) * 1000;
  return (d.negative ? -1 : 1) * ms;
}

/** The duration in ms, or null when the text is not an ISO-8601 duration. */
export function durationOrNull(text: string): number | null {
  try {
    return durationMs(text);
  } catch {
    return null;
  }
}
