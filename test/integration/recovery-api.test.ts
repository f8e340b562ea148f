import type { Pool } from 'pg';
import { admin, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { endOffsets, freshTopic, writtenSince } from '../support/kafka';
import { RECOVERY_CONFIG, sendRecoverableEvents } from '../support/recovery-seed';

interface Listed {
  rows: { id: string; type: string; recoveredAt: string | null; recoveryFlow: string | null; badRow: { schema: string } }[];
  next: string | null;
  types: { type: string; total: number; pending: number }[];
}
interface DryRow {
  id: string;
  status: string;
  flow?: string;
  reason?: string;
  view: { original: { raw: { parameters: Record<string, unknown> } }; recovered?: { raw: { parameters: Record<string, unknown> } } };
}
interface RunStatus {
  status: string;
  result: { counts: Record<string, number>; done: number } | null;
  temporalUiUrl: string;
}

/** The admin API of bad rows and recovery, on real bad rows: list, dry run (in process), a run on Temporal. */
describe('bad rows and recovery: admin API', () => {
  let pool: Pool;
  let b: BeltlineProcess;
  let topic: string;
  const s = Date.now().toString(36);
  const ids = ['1', '2', '3', '4'].map((n) => `7ec0a000-0000-4000-8000-${s.padStart(8, '0').slice(-8)}000${n}`);
  const since = new Date(Date.now() - 1000).toISOString();
  let filter: { types: string[]; since: string; topic: string };
  let mine: string[];

  beforeAll(async () => {
    pool = testPool();
    ({ topic } = await freshTopic('recovery-api-test'));
    const { topic: failedTopic } = await freshTopic('recovery-api-failed-test', 1);
    filter = { types: ['schema_violations'], since, topic };
    b = await startBeltline({
      port: 18189,
      env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: `${topic}-bridge`, BELTLINE_TASK_QUEUE: `recovery-api-${s}`, BELTLINE_RECOVERY_FAILED_TOPIC: failedTopic },
    });
    expect((await sendRecoverableEvents(b.url, ids, `recapi-${s}`)).status).toBe(200);
    mine = await waitFor('three bad rows', async () => {
      const { rows } = await pool.query<{ id: string }>('SELECT id::text FROM bad_rows WHERE row_key = ANY($1) ORDER BY array_position($1, row_key)', [ids.slice(1).map((id) => `event:${id}:schema`)]);
      return rows.length === 3 ? rows.map((r) => r.id) : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await b?.stop();
    await pool?.end();
  });

  it('lists bad rows by type, newest first, with a cursor and counts per type', async () => {
    const res = await admin(b.url, 'GET', `/projects/default/bad-rows?type=schema_violations&since=${encodeURIComponent(since)}&limit=2`);
    expect(res.status).toBe(200);
    const first = (await res.json()) as Listed;
    expect(first.rows.every((r) => r.type === 'schema_violations' && r.badRow.schema.includes('/schema_violations/'))).toBe(true);
    expect(first.types.find((t) => t.type === 'schema_violations')?.pending).toBeGreaterThanOrEqual(3);
    expect(first.next).not.toBeNull();
    const rest = (await (await admin(b.url, 'GET', `/projects/default/bad-rows?type=schema_violations&since=${encodeURIComponent(since)}&limit=100&after=${first.next}`)).json()) as Listed;
    const seen = [...first.rows, ...rest.rows].map((r) => r.id);
    expect(seen).toEqual([...seen].sort((x, y) => Number(y) - Number(x)));
    expect(seen).toEqual(expect.arrayContaining(mine));
    const none = (await (await admin(b.url, 'GET', `/projects/default/bad-rows?type=size_violation&since=${encodeURIComponent(since)}`)).json()) as Listed;
    expect(none.rows.some((r) => mine.includes(r.id))).toBe(false);
    expect((await admin(b.url, 'GET', '/projects/default/bad-rows?type=nope')).status).toBe(400);
  });

  it('a dry run shows each row before and after, computed in process, and writes and sends nothing', async () => {
    const rawBefore = await endOffsets(topic);
    // The configuration as text, as the CLI reads it from its file.
    const res = await admin(b.url, 'POST', '/projects/default/recovery/dry-run', { config: JSON.stringify(RECOVERY_CONFIG), filter });
    expect(res.status).toBe(200);
    const { rows, counts } = (await res.json()) as { rows: DryRow[]; counts: Record<string, number> };
    const [r1, r2, r3] = mine.map((id) => rows.find((r) => r.id === id) as DryRow);
    expect(r1).toMatchObject({ status: 'recovered', flow: 'fix-quantity' });
    expect(r1.view.original.raw.parameters.ue_px).toMatchObject({ data: { data: { quantity: '2' } } });
    expect(r1.view.recovered?.raw.parameters.ue_px).toMatchObject({ data: { data: { quantity: 2 } } });
    expect(r1.view.recovered?.raw.parameters.aid).toBe('recovered-shop');
    expect(r2).toMatchObject({ status: 'recovered', flow: 'drop-extra-property' });
    expect(r2.view.recovered?.raw.parameters.ue_pr).toEqual({ schema: expect.any(String) as unknown, data: { schema: expect.any(String) as unknown, data: { sku: 'sku-2', quantity: 1 } } });
    expect(r3).toMatchObject({ status: 'unmatched', reason: expect.stringContaining('missing configuration') as unknown });
    expect(r3.view.recovered).toBeUndefined();
    expect(counts.recovered).toBeGreaterThanOrEqual(2);
    expect(await writtenSince(topic, rawBefore)).toEqual([]);
    const { rows: marked } = await pool.query('SELECT 1 FROM bad_rows WHERE id = ANY($1::bigint[]) AND recovered_at IS NOT NULL', [mine]);
    expect(marked).toHaveLength(0);
    expect((await pool.query('SELECT 1 FROM recovery_failures WHERE bad_row_id = ANY($1::bigint[])', [mine])).rowCount).toBe(0);
  });

  it('a configuration that does not parse is a 400 naming the field', async () => {
    const bad = { schema_violations: [{ name: 'fix-price', conditions: [], steps: [{ op: 'Cast', path: '$.a', from: 'String', to: 'Integer' }] }] };
    for (const path of ['/projects/default/recovery/dry-run', '/projects/default/recovery/runs']) {
      const res = await admin(b.url, 'POST', path, { config: bad, filter });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; message: string; details: { field: string } };
      expect(body.message).toBe('config: flow "fix-price" step 1 (Cast): "to" must be one of Numeric, Boolean, String, Array');
      expect(body.details.field).toBe('config');
    }
    const text = await admin(b.url, 'POST', '/projects/default/recovery/dry-run', { config: '{"schema_violations": [' });
    expect(text.status).toBe(400);
    expect(((await text.json()) as { message: string }).message).toMatch(/^config: not JSON/);
  });

  it('a run on Temporal recovers the rows, and its status follows it to the result', async () => {
    const rawBefore = await endOffsets(topic);
    const res = await admin(b.url, 'POST', '/projects/default/recovery/runs', { config: RECOVERY_CONFIG, filter });
    expect(res.status).toBe(202);
    const { workflowId, temporalUiPath } = (await res.json()) as { workflowId: string; temporalUiPath: string };
    expect(temporalUiPath).toBe(`/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
    const done = await waitFor('the run to complete', async () => {
      const st = (await (await admin(b.url, 'GET', `/projects/default/recovery/runs/${encodeURIComponent(workflowId)}`)).json()) as RunStatus;
      return st.status === 'RUNNING' ? undefined : st;
    });
    expect(done.status).toBe('COMPLETED');
    expect(done.result?.counts).toMatchObject({ recovered: 2, unmatched: 1 });
    expect(done.temporalUiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\//);
    // The two repaired records, once each.
    const written = await writtenSince(topic, rawBefore);
    expect(written).toHaveLength(2);
    expect([ids[1], ids[2], ids[3]].map((id) => written.filter((v) => v.includes(id)).length)).toEqual([1, 1, 0]);
    const { rows } = await pool.query<{ recovery_flow: string | null; recovery_run: string | null }>('SELECT recovery_flow, recovery_run FROM bad_rows WHERE id = ANY($1::bigint[]) ORDER BY array_position($1::bigint[], id)', [mine]);
    expect(rows).toEqual([
      { recovery_flow: 'fix-quantity', recovery_run: workflowId },
      { recovery_flow: 'drop-extra-property', recovery_run: workflowId },
      { recovery_flow: null, recovery_run: null },
    ]);
    expect((await admin(b.url, 'GET', '/projects/default/recovery/runs/no-such-run')).status).toBe(404);
  }, 90_000);
});
