import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { Partitions } from '../../src/events/partitions';

/** The event store's month partitions on the real PostgreSQL: made once, each month its own. */
describe('month partitions of the event store', () => {
  let pool: Pool;
  // Far from any month other tests write to, so their partitions are this test's alone.
  const months = ['events_p203107', 'events_p203108', 'events_p203112', 'events_p203201'];

  const existing = async (): Promise<string[]> => {
    const { rows } = await pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
       WHERE p.relname = 'events' AND n.nspname = current_schema() AND c.relname = ANY($1) ORDER BY 1`,
      [months],
    );
    return rows.map((r) => r.name);
  };
  const drop = async (): Promise<void> => {
    for (const m of months) await pool.query(`DROP TABLE IF EXISTS ${m}`);
  };

  beforeAll(async () => {
    pool = createPool(loadConfig().databaseUrl, 2);
    await migrate(pool);
    await drop();
  });

  afterAll(async () => {
    await drop();
    await pool.end();
  });

  it('makes each month a batch needs once, up to the last millisecond of its month and not past it', async () => {
    let queries = 0;
    const counted = new Proxy(pool, {
      get: (target, prop, receiver) => (prop === 'query' ? (...args: unknown[]) => (queries++, (target.query as (...a: unknown[]) => unknown)(...args)) : Reflect.get(target, prop, receiver)),
    });
    const partitions = new Partitions(counted);
    const july = Date.UTC(2031, 6, 1);
    const august = Date.UTC(2031, 7, 1);

    await partitions.ensure([july + 5, july, august - 1, july + 86_400_000]);
    expect(await existing()).toEqual(['events_p203107']);
    expect(queries).toBe(1);

    // The first millisecond of August is August's, not July's: [from, to).
    await partitions.ensure([july + 10, august - 1, august]);
    expect(await existing()).toEqual(['events_p203107', 'events_p203108']);
    expect(queries).toBe(2);

    // Known months cost no query; two new ones, one each, whatever their order and repeats.
    await partitions.ensure([Date.UTC(2032, 0, 15), august + 3, Date.UTC(2031, 11, 31, 23, 59, 59, 999), Date.UTC(2032, 0, 1), july]);
    expect(await existing()).toEqual(['events_p203107', 'events_p203108', 'events_p203112', 'events_p203201']);
    expect(queries).toBe(4);
    await partitions.ensure([july, august, Date.UTC(2031, 11, 1), Date.UTC(2032, 0, 31, 23, 59, 59, 999)]);
    expect(queries).toBe(4);

    // A row of each month lands in its partition (the bounds agree with PostgreSQL's).
    const edge = new Date(Date.UTC(2031, 11, 31, 23, 59, 59, 999));
    const { rows } = await pool.query<{ p: string }>(
      `WITH i AS (INSERT INTO events (event_id, event_type, correlation_id, created_at, headers, payload, batch_id)
                  VALUES ('partitions-test-edge', 'partitions-test', 'u', $1, '{}', '{}', 'partitions-test') RETURNING tableoid)
       SELECT tableoid::regclass::text AS p FROM i`,
      [edge],
    );
    expect(rows[0].p).toMatch(/events_p203112$/);
  });
});
