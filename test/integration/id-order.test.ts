import type { Pool } from 'pg';
import { badRow } from '../../src/badrows/format';
import { insertBadRows, listBadRows } from '../../src/badrows/store';
import { withTransaction } from '../../src/db/pool';
import { badRowPage, newestBadRows } from '../../src/recovery/store';
import { ensureSegment, qualified } from '../../src/segments/catalog';
import { listDeadLetters, redrive } from '../../src/segments/dead-letters';
import { testPool } from '../support/beltline';

/**
 * Pages in id order across a power of ten. The queries select `id::text`, and a bare `ORDER BY id`
 * sorts by that output column, the text: "10000" before "9999". Keyset pages (`id > after`) then
 * skipped rows — a recovery run or a redrive left some out, and a console test that took the
 * second bad row by id failed once the lane's database had made a thousand of them.
 */
describe('rows paged by id, across a power of ten', () => {
  let pool: Pool;
  const run = Date.now().toString(36);

  beforeAll(() => {
    pool = testPool();
  });
  afterAll(async () => {
    await pool.end();
  });

  /** Moves a sequence forward so its next four values cross the next power of ten. */
  async function acrossPowerOfTen(sequence: string): Promise<bigint[]> {
    const { rows } = await pool.query<{ v: string }>(`SELECT last_value::text AS v FROM ${sequence}`);
    const power = 10n ** BigInt(String(BigInt(rows[0].v) + 10n).length);
    await pool.query('SELECT setval($1, $2)', [sequence, String(power - 3n)]);
    return [power - 2n, power - 1n, power, power + 1n];
  }

  it('lists bad rows newest first, pages a recovery run and previews the newest, in numeric order', async () => {
    const topic = `id-order-${run}`;
    const since = new Date(Date.now() - 1000).toISOString();
    const expected = (await acrossPowerOfTen('bad_rows_id_seq')).map(String);
    const rows = expected.map((_, i) => ({ key: `event:${run}-${i}:adapter`, row: badRow('adapter_failures', { messages: [{ i }] }, { run, i }) }));
    await withTransaction(pool, (client) => insertBadRows(client, rows, `${topic}-0-1-4`));
    const { rows: stored } = await pool.query<{ id: string }>('SELECT id::text AS id FROM bad_rows WHERE row_key = ANY($1) ORDER BY bad_rows.id', [rows.map((r) => r.key)]);
    expect(stored.map((r) => r.id)).toEqual(expected);

    const listed: string[] = [];
    for (let after: string | undefined, pages = 0; pages < 10; pages++) {
      const page = await listBadRows(pool, { type: 'adapter_failures', since, after, limit: 2 });
      listed.push(...page.rows.filter((r) => expected.includes(r.id)).map((r) => r.id));
      if (page.next === null) break;
      after = page.next;
    }
    expect(listed).toEqual([...expected].reverse());

    const paged: string[] = [];
    for (let after = '0', pages = 0; pages < 10; pages++) {
      const page = await badRowPage(pool, { topic }, after, expected[3], 2, false);
      paged.push(...page.map((r) => r.id));
      if (page.length < 2) break;
      after = page[page.length - 1].id;
    }
    expect(paged).toEqual(expected);

    expect((await newestBadRows(pool, { topic }, 3)).map((r) => r.id)).toEqual([expected[3], expected[2], expected[1]]);
  });

  it('pages and redrives dead letters in numeric order', async () => {
    const segment = `id-order-${run}`;
    // Rows without the required id: a redrive looks at each and leaves it failing.
    await withTransaction(pool, (client) => ensureSegment(client, 'default', segment, { type: 'object', required: ['id'], properties: { id: { type: 'string' } } }));
    const expected = (await acrossPowerOfTen('segment_dead_letters_id_seq')).map(String);
    for (let i = 0; i < expected.length; i++) {
      await pool.query(
        `INSERT INTO segment_dead_letters (project, segment, version, row_id, row, reason, event_id, belt, event_at)
         VALUES ('default', $1, 1, $2, '{}', '{"kind":"schema","messages":[]}', $3, 'b', now())`,
        [segment, `r${i}`, `${run}-${i}`],
      );
    }
    const listed: string[] = [];
    for (let after: string | undefined, pages = 0; pages < 10; pages++) {
      const page = await listDeadLetters(pool, 'default', segment, { limit: 2, after });
      listed.push(...page.deadLetters.map((d) => d.id));
      if (page.next === null) break;
      after = page.next;
    }
    expect(listed).toEqual(expected);
    expect(await redrive(pool, 'default', segment)).toEqual({ redriven: 0, stillFailing: 4 });
    const { rows } = await pool.query<{ id: string; attempts: number }>('SELECT id::text AS id, attempts FROM segment_dead_letters WHERE segment = $1 ORDER BY segment_dead_letters.id', [segment]);
    expect(rows).toEqual(expected.map((id) => ({ id, attempts: 2 })));
    await pool.query(`DROP TABLE ${qualified('default', `live_segment_${segment}`)}`);
    await pool.query('DELETE FROM live_segments WHERE name = $1', [segment]);
  });
});
