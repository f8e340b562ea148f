import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { loadConfig, REPO_ROOT } from '../../src/config';
import { ADMIN_KEY, admin, startBeltline, testPool, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js');
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'cart-offers');

interface Offer {
  key: string | undefined;
  body: { user_id: string; skus: string[]; purchase_value: number; discount_percent: number };
}

describe('examples/cart-offers (seed 004): one offer per user', () => {
  const s = Date.now().toString(36);
  const queue = `example-offers-${s}`;
  const cfg = loadConfig();
  const offers: Offer[] = [];
  let server: http.Server;
  let pool: Pool;
  let beltline: BeltlineProcess;
  let temporal: Connection;
  let client: Client;

  beforeAll(async () => {
    pool = testPool();
    temporal = await Connection.connect({ address: cfg.TEMPORAL_ADDRESS });
    client = new Client({ connection: temporal, namespace: cfg.TEMPORAL_NAMESPACE });
    // The shop's offer service: records every webhook it gets.
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        if (req.url === '/offers') offers.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(data) as Offer['body'] });
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((r) => server.listen(18104, '127.0.0.1', () => r()));
    const { topic, group } = await freshTopic('example-offers');
    // The receiver is on loopback, which actions may target only when allowed.
    beltline = await startBeltline({ port: 18103, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_TASK_QUEUE: queue, BELTLINE_ACTION_ALLOWED_HOSTS: '127.0.0.1' } });
  }, 120_000);

  afterAll(async () => {
    if (beltline) {
      await admin(beltline.url, 'DELETE', '/projects/default/belts/cart-offers').catch(() => undefined);
      await admin(beltline.url, 'DELETE', '/projects/default/harvesters/cart-activity-from-tracker').catch(() => undefined);
    }
    await beltline?.stop();
    await new Promise((r) => server?.close(r));
    await pool?.end();
    await temporal?.close();
  }, 60_000);

  /** Waits until the user has `n` cart-activity events and every batch holding them has finished (actions included). */
  async function settled(user: string, n: number): Promise<void> {
    const batches = await waitFor(`${n} cart events of ${user}`, async () => {
      const { rows } = await pool.query<{ batch_id: string }>("SELECT batch_id FROM events WHERE correlation_id = $1 AND event_type = 'cart-activity'", [user]);
      return rows.length === n ? [...new Set(rows.map((r) => r.batch_id))] : undefined;
    });
    for (const b of batches) {
      const m = /^(.*)-(\d+)-(\d+)-(\d+)$/.exec(b) as RegExpExecArray;
      await client.workflow.getHandle(`ingest-${m[1]}-p${m[2]}-o${m[3]}-${m[4]}`).result();
    }
  }

  it('sends the offer exactly once, though several events qualify and two of them share a batch', async () => {
    const run = `o${s}`;
    const alice = `alice-${run}`;
    const bob = `bob-${run}`;
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [CLI, 'example', EXAMPLE, '--url', beltline.url, '--run', run, '--action-url', 'send-offer=http://127.0.0.1:18104/offers'],
        { env: { ...process.env, BELTLINE_ADMIN_KEY: ADMIN_KEY, BELTLINE_LOG_LEVEL: 'warn' } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/(created|updated) action send-offer → http:\/\/127\.0\.0\.1:18104\/offers/);
    expect(out.stdout).toContain(`profile ${alice} has cart_offers.offer_sent = true`);

    // Every event of the example went through: alice 2 removes + 3 transactions, bob 1 + 2.
    await settled(alice, 5);
    await settled(bob, 3);

    // The two qualifying transactions of one batch both decided to send (the belt saw the same
    // profile for both), and so did nothing after offer_sent: the key kept it to one delivery.
    const decisions = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM belt_outputs o JOIN events e USING (event_id)
        WHERE o.belt = 'cart-offers' AND e.correlation_id = $1 AND jsonb_array_length(o.actions) > 0`,
      [alice],
    );
    expect(decisions.rows[0].n).toBe(2);

    const mine = offers.filter((o) => o.body.user_id === alice || o.body.user_id === bob);
    expect(mine).toHaveLength(1);
    expect(mine[0].body).toMatchObject({ user_id: alice, skus: ['sku-red-shoes'], discount_percent: 10 });
    expect(mine[0].body.purchase_value).toBeGreaterThan(50);
    const runs = await pool.query<{ idempotency_key: string; state: string; attempts: number; response_status: number }>(
      'SELECT idempotency_key, state, attempts, response_status FROM action_runs WHERE dedupe_key = $1',
      [`offer/${alice}`],
    );
    expect(runs.rows).toEqual([{ idempotency_key: mine[0].key, state: 'sent', attempts: 1, response_status: 201 }]);
    expect((await pool.query("SELECT 1 FROM action_runs WHERE action = 'send-offer' AND payload->>'user_id' = $1", [bob])).rowCount).toBe(0);

    // The state: alice's later removal was ignored once the offer went out; bob never qualified.
    const doc = async (id: string): Promise<Record<string, unknown>> =>
      (await pool.query<{ d: Record<string, unknown> }>("SELECT document->'cart_offers' AS d FROM profiles WHERE id = $1", [id])).rows[0].d;
    expect(await doc(alice)).toEqual({ removed_items: ['sku-red-shoes'], purchase: true, purchase_value: expect.any(Number), offer_sent: true });
    expect(await doc(bob)).toEqual({ removed_items: ['sku-hat'], purchase: true, purchase_value: 30 });
  }, 240_000);
});
