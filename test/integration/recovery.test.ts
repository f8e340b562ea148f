import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import { REPO_ROOT } from '../../src/config';
import { startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { endOffsets, freshTopic, readAll, recordCount, writtenSince } from '../support/kafka';
import { RECOVERY_CONFIG, sendRecoverableEvents } from '../support/recovery-seed';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
const TASK_QUEUE = `recovery-test-${Date.now().toString(36)}`;

/** Runs the built CLI (asynchronously: the worker of this test runs in another process). */
function beltline(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, BELTLINE_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const CONFIG = RECOVERY_CONFIG;

describe('bad-row recovery: beltline recover', () => {
  let pool: Pool;
  let beltline1: BeltlineProcess;
  let topic: string;
  let start: { partition: number; offset: string }[];
  let failedTopic: string;
  let env: Record<string, string>;
  let dir: string;
  const s = Date.now().toString(36);
  const user = `rec-${s}`;
  const ids = ['1', '2', '3', '4'].map((n) => `7ec00000-0000-4000-8000-${s.padStart(8, '0').slice(-8)}000${n}`);
  const since = new Date(Date.now() - 1000).toISOString();

  beforeAll(async () => {
    pool = testPool();
    ({ topic } = await freshTopic('recovery-test'));
    start = await endOffsets(topic);
    ({ topic: failedTopic } = await freshTopic('recovery-failed-test', 1));
    env = { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: `${topic}-bridge`, BELTLINE_TASK_QUEUE: TASK_QUEUE, BELTLINE_RECOVERY_FAILED_TOPIC: failedTopic };
    beltline1 = await startBeltline({ port: 18110, env });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'beltline-recovery-'));
  }, 120_000);

  afterAll(async () => {
    await beltline1?.stop();
    await pool?.end();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const count = async (): Promise<number | undefined> => {
    const { rows } = await pool.query<{ document: { count?: number } }>('SELECT document FROM profiles WHERE id = $1', [user]);
    return rows[0]?.document.count;
  };
  /** The records recovery wrote to the raw topic (they carry `recovery`), not the collector's. */
  const recoveredRecords = async (): Promise<number> =>
    (await writtenSince(topic, start)).filter((v) => (JSON.parse(v) as { recovery?: unknown }).recovery !== undefined).length;
  const badRows = async () =>
    (
      await pool.query<{ id: string; original_key: string | null; recovered_at: Date | null; recovery_flow: string | null }>(
        `SELECT id::text, original_key, recovered_at, recovery_flow FROM bad_rows WHERE coalesce(original_key, row_key) = ANY($1) ORDER BY coalesce(original_key, row_key)`,
        [ids.slice(1).map((id) => `event:${id}:schema`)],
      )
    ).rows;

  it('refuses a malformed configuration, naming the flow and step', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ schema_violations: [{ name: 'fix-price', conditions: [], steps: [CONFIG.schema_violations[0].steps[1], { op: 'Cast', path: '$.a', from: 'String', to: 'Integer' }] }] }));
    const r = await beltline(env, 'recover', '--config', file);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('flow "fix-price" step 2 (Cast): "to" must be one of Numeric, Boolean, String, Array');
  }, 30_000);

  it('repairs real schema_violations bad rows: a dry run changes nothing, the run sends them through to the profile once, a second run recovers nothing twice', async () => {
    // One good event; two that violate add_to_cart (quantity as text, base64 ue_px; an extra
    // property, string-escaped ue_pr) and one whose schema does not exist, which no flow matches.
    const res = await sendRecoverableEvents(beltline1.url, ids, user);
    expect(res.status).toBe(200);
    await waitFor('the good event in the profile', async () => ((await count()) === 1 ? true : undefined));
    await waitFor('three bad rows', async () => ((await badRows()).length === 3 ? true : undefined));
    const config = path.join(dir, 'recovery.json');
    fs.writeFileSync(config, JSON.stringify(CONFIG));
    const args = ['recover', '--config', config, '--since', since, '--topic', topic];

    // Dry run: the diff per row, and nothing changed.
    const dry = await beltline(env, ...args, '--dry-run');
    expect(dry.stderr).not.toMatch(/error/i);
    expect(dry.status).toBe(0);
    const [b1, b2, b3] = await badRows();
    expect(dry.stdout).toContain(`bad row ${b1.id} (schema_violations): would be recovered by flow "fix-quantity"`);
    expect(dry.stdout).toContain('$.raw.parameters.ue_px.data.data.quantity: "2" → 2');
    expect(dry.stdout).toContain('$.raw.parameters.aid: "shop" → "recovered-shop"');
    expect(dry.stdout).toContain(`bad row ${b2.id} (schema_violations): would be recovered by flow "drop-extra-property"`);
    expect(dry.stdout).toContain('$.raw.parameters.ue_pr.data.data: {"sku":"sku-2","quantity":1,"colour":"red"} → {"sku":"sku-2","quantity":1}');
    expect(dry.stdout).toContain(`bad row ${b3.id} (schema_violations): unmatched: missing configuration`);
    expect(dry.stdout).toContain('dry run, nothing changed: 2 would be recovered, 0 failed, 1 unmatched, 0 unrecoverable (of 3 bad rows)');
    expect((await badRows()).every((b) => b.recovered_at === null && b.original_key === null)).toBe(true);
    expect(await recoveredRecords()).toBe(0);
    expect(await recordCount(failedTopic)).toBe(0);
    expect((await pool.query('SELECT 1 FROM recovery_failures WHERE bad_row_id = ANY($1::bigint[])', [[b1.id, b2.id, b3.id]])).rowCount).toBe(0);

    // The run: the two repaired events go through validation and the belt into the profile.
    const real = await beltline(env, ...args);
    expect(real.status).toBe(0);
    expect(real.stdout).toContain('2 recovered, 0 failed, 1 unmatched, 0 unrecoverable (of 3 bad rows)');
    expect(real.stdout).toContain(`bad row ${b3.id} (schema_violations): unmatched: missing configuration`);
    expect(await recoveredRecords()).toBe(2);
    await waitFor('the repaired events in the profile', async () => ((await count()) === 3 ? true : undefined));
    const { rows: events } = await pool.query<{ event_id: string; payload: { app_id?: string; unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1: { quantity: unknown; colour?: string } } }>(
      'SELECT event_id, payload FROM events WHERE event_id = ANY($1) ORDER BY event_id',
      [ids],
    );
    expect(events.map((e) => e.event_id)).toEqual(ids.slice(0, 3));
    expect(events[1].payload.app_id).toBe('recovered-shop');
    expect(events[1].payload.unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1.quantity).toBe(2);
    expect(events[2].payload.unstruct_event_com_snowplowanalytics_snowplow_add_to_cart_1).toEqual({ sku: 'sku-2', quantity: 1 });
    const marked = await badRows();
    expect(marked.map((b) => b.recovery_flow)).toEqual(['fix-quantity', 'drop-extra-property', null]);
    expect(marked[0].recovered_at).not.toBeNull();
    expect(marked[2].recovered_at).toBeNull();
    const { rows: failures } = await pool.query<{ status: string; reason: string; attempts: number }>('SELECT status, reason, attempts FROM recovery_failures WHERE bad_row_id = $1', [b3.id]);
    expect(failures).toEqual([{ status: 'unmatched', reason: expect.stringContaining('missing configuration') as unknown, attempts: 1 }]);
    const published = (await readAll(failedTopic, 1)).map((v) => JSON.parse(v) as { badRowId: string; status: string; reason: string; badRow: { schema: string } });
    expect(published).toEqual([expect.objectContaining({ badRowId: b3.id, status: 'unmatched', reason: expect.stringContaining('missing configuration') as unknown })]);

    // A second run: nothing is recovered twice, nothing new reaches raw or the profile.
    const again = await beltline(env, ...args);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('0 recovered, 0 failed, 1 unmatched, 0 unrecoverable (of 1 bad rows)');
    expect(await recoveredRecords()).toBe(2);
    const after = await pool.query<{ attempts: number }>('SELECT attempts FROM recovery_failures WHERE bad_row_id = $1', [b3.id]);
    expect(after.rows[0].attempts).toBe(2);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await count()).toBe(3);
    expect((await badRows()).length).toBe(3);
  }, 180_000);
});
