import type { Pool } from 'pg';

/** The month partition an instant falls in: its name and [from, to) bounds, in UTC. */
export function monthPartition(ms: number): { name: string; from: string; to: string } {
  const [from, to] = monthBounds(ms);
  const start = new Date(from);
  const name = `events_p${String(start.getUTCFullYear()).padStart(4, '0')}${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
  return { name, from: pgInstant(start), to: pgInstant(new Date(to)) };
}

/** The [from, to) bounds of an instant's month in epoch ms, UTC. */
function monthBounds(ms: number): [number, number] {
  const d = new Date(ms);
  return [Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)];
}

/**
 * An instant as PostgreSQL reads it. toISOString writes years past 9999 with a sign and six
 * digits (`+010000-01-01T…`), which PostgreSQL takes for a time zone: the upper bound of the
 * partition for December 9999 is 10000-01-01.
 */
function pgInstant(d: Date): string {
  return d.toISOString().replace(/^\+0*(?=\d{5})/, '');
}

/**
 * Creates the month partitions events of these times need. Known ones are remembered; creating
 * one takes a lock on the parent, so it happens once per month, outside the insert transaction.
 */
export class Partitions {
  // [from, to) in epoch ms of the months made: a batch's times are checked against them with two
  // comparisons each, where naming each time's month took two dates and two ISO strings (in the
  // worker's CPU profile, more than the rest of the step that stores the events).
  private known: [number, number][] = [];

  constructor(private readonly pool: Pool) {}

  private has(t: number): boolean {
    for (const [from, to] of this.known) if (t >= from && t < to) return true;
    return false;
  }

  async ensure(times: Iterable<number>): Promise<void> {
    const wanted = new Map<string, { p: ReturnType<typeof monthPartition>; bounds: [number, number] }>();
    for (const t of times) {
      if (this.has(t)) continue;
      const p = monthPartition(t);
      if (!wanted.has(p.name)) wanted.set(p.name, { p, bounds: monthBounds(t) });
    }
    for (const { p, bounds } of wanted.values()) {
      try {
        // Names and bounds are computed here from numbers, never taken from input.
        await this.pool.query(`CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF events FOR VALUES FROM ('${p.from}') TO ('${p.to}')`);
      } catch (err) {
        // Another worker created it at the same moment.
        const code = (err as { code?: string }).code;
        if (code !== '42P07' && code !== '23505') throw err;
      }
      this.known.push(bounds);
    }
  }
}

/** Drops month partitions that lie wholly before `cutoff`. */
export async function dropPartitionsBefore(pool: Pool, cutoff: number): Promise<string[]> {
  const { rows } = await pool.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE p.relname = 'events' AND n.nspname = current_schema()`,
  );
  const dropped: string[] = [];
  for (const r of rows) {
    const m = /TO \('([^']+)'\)/.exec(r.bound);
    if (!m || Date.parse(m[1]) > cutoff || !/^events_p\d{6}$/.test(r.name)) continue;
    await pool.query(`DROP TABLE IF EXISTS ${r.name}`);
    dropped.push(r.name);
  }
  return dropped;
}
