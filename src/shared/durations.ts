import { parse } from 'tinyduration';
import { DefinitionError } from './errors';

/**
 * Durations, in the two grammars beltline reads:
 * - in definitions (TTLs, retention, retry intervals): ISO-8601, as the seeds write them (P3M, PT30S);
 * - in environment variables: the short form operators type (500ms, 30s, 2m, 1h, or plain ms),
 *   and ISO-8601 too.
 */

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

/** Milliseconds of a definition's ISO-8601 duration; the error names the field. */
export function durationField(text: string, field: string): number {
  const ms = durationOrNull(text);
  if (ms === null) throw new DefinitionError(field, `not an ISO-8601 duration: ${JSON.stringify(text)} (e.g. P30D, PT3S, P100Y)`);
  return ms;
}

const SHORT = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds of a setting's duration (`500ms`, `30s`, `2m`, `1h`, plain ms, or ISO-8601), or null. */
export function settingDurationMs(text: string): number | null {
  const m = SHORT.exec(text.trim());
  if (m) return Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS]);
  return durationOrNull(text.trim());
}
