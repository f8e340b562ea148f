import type { Pool } from 'pg';
import { withTransaction } from '../../src/db/pool';
import { purgePublishedChanges } from '../../src/profiles/outbox';
import { applyUpdates, applyUpdatesInTx } from '../../src/profiles/store';
import { testPool } from '../support/beltline';

/** The profile store against the real database: what one batch writes, and what it refuses. */
describe('profile store', () => {
  const s = `store-${Date.now().toString(36)}`;
  let pool: Pool;
  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    await pool.end();
  });

  const doc = async (id: string) => (await pool.query<{ document: Record<string, unknown> }>('SELECT document FROM profiles WHERE id = $1', [id])).rows[0]?.document;

  it('refuses an update whose _path reaches the object prototype, for its event alone; the batch goes on', async () => {
    const id = `${s}-proto`;
    const applied = await applyUpdates(
      pool,
      [
        { update: { _id: id, _path: ['before'], _value: { _v: 1 } }, ctx: { eventId: `${s}-e1`, created: 1 }, belt: 'b' },
        { update: { _id: id, _path: ['__proto__', 'polluted'], _value: { _v: 'yes' } }, ctx: { eventId: `${s}-e2`, created: 2 }, belt: 'b' },
        { update: { _id: id, _operation: '_add_to_set', _path: ['constructor', 'prototype'], _value: { _v: 'x' } }, ctx: { eventId: `${s}-e3`, created: 3 }, belt: 'c' },
        { update: { _id: id, _path: ['after'], _value: { _v: 2 } }, ctx: { eventId: `${s}-e4`, created: 4 }, belt: 'b' },
      ],
      60_000,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(applied.refused).toEqual([
      { eventId: `${s}-e2`, belt: 'b', reason: expect.stringMatching(/_path: "__proto__" cannot be a path segment/) },
      { eventId: `${s}-e3`, belt: 'c', reason: expect.stringMatching(/_path: "constructor" cannot be a path segment/) },
    ]);
    expect(await doc(id)).toEqual({ before: 1, after: 2 });
    // The batch's two changes share one outbox row, in the order they were applied.
    const { rows } = await pool.query<{ messages: { _path: string[] }[] }>('SELECT messages FROM profile_changes WHERE id = $1', [applied.outbox?.id]);
    expect(rows[0].messages.map((m) => m._path)).toEqual([['before'], ['after']]);
  });

  it("stamps updated_at with the time of the write, not the transaction's start", async () => {
    const id = `${s}-clock`;
    const later = await withTransaction(pool, async (client) => {
      // Time passes inside the transaction before the write, as it does while a batch runs belts.
      await client.query('SELECT pg_sleep(0.05)');
      await applyUpdatesInTx(client, [{ update: { _id: id, _path: ['x'], _value: { _v: 1 } }, ctx: { eventId: `${s}-c1`, created: 1 } }], 60_000);
      const { rows } = await client.query<{ later: boolean }>('SELECT updated_at > now() AS later FROM profiles WHERE id = $1', [id]);
      return rows[0].later;
    });
    expect(later).toBe(true);
  });

  it('purges outbox rows published longer ago than the retention, and no unpublished row whatever its age', async () => {
    // In a transaction rolled back at the end: other tests' workers publish and purge the same
    // outbox, and must neither see these rows nor have theirs purged by this test.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const row = async (published: boolean, age: string): Promise<string> =>
        (await client.query<{ id: string }>(`INSERT INTO profile_changes (messages, published, created_at) VALUES ('[]', $1, now() - $2::interval) RETURNING id`, [published, age])).rows[0].id;
      const old = await row(true, '2 hours');
      const recent = await row(true, '10 minutes');
      const unsent = await row(false, '2 hours');
      expect(await purgePublishedChanges(client, 3_600_000)).toBeGreaterThanOrEqual(1);
      const { rows } = await client.query<{ id: string }>('SELECT id FROM profile_changes WHERE id = ANY($1::bigint[]) ORDER BY id', [[old, recent, unsent]]);
      expect(rows.map((r) => r.id)).toEqual([recent, unsent]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
