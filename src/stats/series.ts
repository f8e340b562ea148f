import type { PartitionLag } from '../metrics';

/**
 * A project's pipeline figures over the last minutes (`GET /projects/:project/stats`), folded from
 * what PostgreSQL holds: the batches staged in the window, and the events, belt runs and action
 * deliveries of those batches. Pure: the rows come from src/stats/store.ts.
 */

/** One count of the window, by key (event type, topic, belt…) and minute (its start). */
export interface MinuteRow {
  key: string;
  minute: Date;
  n: number;
}

export interface BatchMinuteRow {
  minute: Date;
  batches: number;
  records: number;
  done: number;
  /** Mean staged → done time of the minute's batches that are done; null when none is. */
  latencyMs: number | null;
}

export interface BeltMinuteRow {
  belt: string;
  minute: Date;
  runs: number;
  errors: number;
}

export interface ActionRow {
  action: string;
  belt: string;
  state: string;
  n: number;
}

export interface SegmentFigure {
  name: string;
  version: number;
  rows: number;
  deadLetters: number;
}

export interface Series {
  name: string;
  /** One figure per minute of `minutes`. */
  values: number[];
  total: number;
}

export interface LagFigure {
  group: string;
  /** Records of the project's topics the bridge has not yet started as batches; null when Kafka did not answer. */
  total: number | null;
  topics: { topic: string; lag: number }[];
  error?: string;
}

export interface Stats {
  windowMinutes: number;
  /** Start of each minute of the window, oldest first; the last is the current (partial) minute. */
  minutes: string[];
  batches: { batches: number[]; records: number[]; done: number[]; latencyMs: (number | null)[]; notDone: number };
  sources: Series[];
  eventTypes: Series[];
  belts: { name: string; runs: Series; errors: Series }[];
  actions: { name: string; sent: number; failed: number; pending: number; belts: string[] }[];
  segments: SegmentFigure[];
  lag: LagFigure;
  temporal: { uiUrl: string | null; namespace: string };
}

const MINUTE = 60_000;

/** The starts of the last `count` minutes, the one `now` is in last. */
export function minuteStarts(now: Date, count: number): Date[] {
  const last = Math.floor(now.getTime() / MINUTE) * MINUTE;
  return Array.from({ length: count }, (_, i) => new Date(last - (count - 1 - i) * MINUTE));
}

function slot(starts: readonly Date[], minute: Date): number {
  const first = starts[0]?.getTime() ?? 0;
  const i = Math.floor((minute.getTime() - first) / MINUTE);
  return i >= 0 && i < starts.length ? i : -1;
}

/** Rows into one series per key, aligned on the window's minutes (rows outside it are dropped), by name. */
export function seriesByKey(rows: readonly MinuteRow[], starts: readonly Date[]): Series[] {
  const out = new Map<string, Series>();
  for (const r of rows) {
    const i = slot(starts, r.minute);
    if (i < 0) continue;
    let s = out.get(r.key);
    if (!s) {
      s = { name: r.key, values: starts.map(() => 0), total: 0 };
      out.set(r.key, s);
    }
    s.values[i] += r.n;
    s.total += r.n;
  }
  return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function batchSeries(rows: readonly BatchMinuteRow[], starts: readonly Date[], notDone: number): Stats['batches'] {
  const zero = (): number[] => starts.map(() => 0);
  const out: Stats['batches'] = { batches: zero(), records: zero(), done: zero(), latencyMs: starts.map(() => null), notDone };
  // Rows are per minute and topic: latency is a mean weighted by the done batches of each.
  const weight = zero();
  for (const r of rows) {
    const i = slot(starts, r.minute);
    if (i < 0) continue;
    out.batches[i] += r.batches;
    out.records[i] += r.records;
    out.done[i] += r.done;
    if (r.latencyMs !== null && r.done > 0) {
      const prev = out.latencyMs[i] ?? 0;
      out.latencyMs[i] = (prev * weight[i] + r.latencyMs * r.done) / (weight[i] + r.done);
      weight[i] += r.done;
    }
  }
  out.latencyMs = out.latencyMs.map((v) => (v === null ? null : Math.round(v)));
  return out;
}

export function beltSeries(rows: readonly BeltMinuteRow[], starts: readonly Date[], names: readonly string[]): Stats['belts'] {
  const runs = seriesByKey(rows.map((r) => ({ key: r.belt, minute: r.minute, n: r.runs })), starts);
  const errors = seriesByKey(rows.map((r) => ({ key: r.belt, minute: r.minute, n: r.errors })), starts);
  const empty = (name: string): Series => ({ name, values: starts.map(() => 0), total: 0 });
  // Every belt has figures, idle ones zeros: the graph shows each belt's.
  const all = [...new Set([...names, ...runs.map((s) => s.name)])].sort();
  return all.map((name) => ({ name, runs: runs.find((s) => s.name === name) ?? empty(name), errors: errors.find((s) => s.name === name) ?? empty(name) }));
}

export function actionFigures(rows: readonly ActionRow[]): Stats['actions'] {
  const out = new Map<string, Stats['actions'][number]>();
  for (const r of rows) {
    const a = out.get(r.action) ?? { name: r.action, sent: 0, failed: 0, pending: 0, belts: [] };
    if (r.state === 'sent' || r.state === 'failed' || r.state === 'pending') a[r.state] += r.n;
    if (!a.belts.includes(r.belt)) a.belts.push(r.belt);
    out.set(r.action, a);
  }
  return [...out.values()].map((a) => ({ ...a, belts: a.belts.sort() })).sort((a, b) => a.name.localeCompare(b.name));
}

/** The lag of a consumer group's partitions, summed per topic. */
export function lagByTopic(group: string, partitions: readonly PartitionLag[]): LagFigure {
  const topics = new Map<string, number>();
  for (const p of partitions) topics.set(p.topic, (topics.get(p.topic) ?? 0) + p.lag);
  const list = [...topics].map(([topic, lag]) => ({ topic, lag })).sort((a, b) => a.topic.localeCompare(b.topic));
  return { group, total: list.reduce((sum, t) => sum + t.lag, 0), topics: list };
}

