import { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { getProfileDetails } from '../../src/profiles/inspect';
import { applyUpdates } from '../../src/profiles/store';
import { testPool } from '../support/beltline';

/**
 * The console's profile details read one snapshot in a read-only transaction. For a profile not
 * found it used to return inside that transaction, and the connection went back to the pool with
 * it open: the next user of the connection (a batch, the bridge staging one) wrote into a
 * read-only transaction and failed, or read an old snapshot (a belt run found no events).
 */
describe('profile details', () => {
  const id = `details-${Date.now().toString(36)}`;
  let one: Pool;
  let other: Pool;

  beforeAll(() => {
    // One connection: what the details call hands back is what the next query gets.
    one = new Pool({ connectionString: loadConfig().databaseUrl, max: 1, options: '-c search_path=beltline,public' });
    other = testPool();
  });

  afterAll(async () => {
    await other?.query('DELETE FROM profiles WHERE id = $1', [id]);
    await one?.end();
    await other?.end();
  });

  it('ends its snapshot for a profile not found: the connection then takes writes and sees rows written since', async () => {
    expect(await getProfileDetails(one, id)).toBeNull();
    expect((await one.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0].transaction_read_only).toBe('off');

    // Written through another connection after the call: an old snapshot would not see it.
    await applyUpdates(other, [{ update: { _id: id, _path: ['plan'], _value: { _v: 'pro' } }, ctx: { eventId: `${id}-1`, created: 1 } }], 60_000);
    expect((await one.query('SELECT 1 FROM profiles WHERE id = $1', [id])).rowCount).toBe(1);

    // And a write on the same connection, in a transaction of its own.
    await applyUpdates(one, [{ update: { _id: id, _path: ['seats'], _value: { _v: 3 } }, ctx: { eventId: `${id}-2`, created: 2 } }], 60_000);
    expect((await getProfileDetails(one, id))?.document).toEqual({ plan: 'pro', seats: 3 });
    expect((await one.query<{ transaction_read_only: string }>('SHOW transaction_read_only')).rows[0].transaction_read_only).toBe('off');
  });
});
