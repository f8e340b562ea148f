import crypto from 'node:crypto';
import { Pool } from 'pg';
import { loadConfig } from '../src/config';
import { migrate } from '../src/db/migrate';
import { reapPage } from '../src/expiry/reap';
import { createKafka, ResilientProducer } from '../src/kafka/producer';
import { ProfileCache } from '../src/profiles/cache';
import { noEffects, applyUpdate, type ProfileState } from '../src/profiles/semantics';
import { applyUpdates, type PendingUpdate } from '../src/profiles/store';

const BATCH = 500;

/**
 * Profile updates applied per second (the real store: lock, merge by stamps, history, outbox,
 * expirations) against a plain multi-row INSERT … ON CONFLICT of the same rows in the same run
 * (PostgreSQL's ceiling: each batch's profiles with the documents and stamps the store wrote,
 * merged in memory before the clock starts); then 1,000,000 pending expirations: reaper workflows open, and the time
 * to reap one due bucket.
 */
export async function benchProfiles(opts: { updates?: number; expirations?: number } = {}): Promise<Record<string, unknown>> {
  const cfg = loadConfig();
  const pool = new Pool({ connectionString: cfg.databaseUrl, max: 4, options: '-c search_path=beltline,public' });
  await migrate(pool);
  const n = opts.updates ?? 50_000;
  const run = crypto.randomBytes(3).toString('hex');
  const profilesCount = Math.max(1, Math.floor(n / 5));
  const pending: PendingUpdate[] = Array.from({ length: n }, (_, i) => ({
    update: { _id: `bench-${run}-${i % profilesCount}`, _path: ['attrs', `k${i % 7}`], _value: { _v: i } },
    ctx: { eventId: `bench-${run}-${i}`, created: 1_700_000_000_000 + i },
  }));

  // The ceiling writes into a table made a moment before; the store's tables carry what earlier
  // runs and `npm start` left, dead rows included (the ratio fell from about 0.5 to under 0.4 over
  // a morning of runs on one database, and came back after a vacuum). Both start clean.
  await pool.query('VACUUM ANALYZE profiles, profile_changes, profile_history, expirations');
  const outbox: string[] = [];
  // As a worker runs it: with the cache of what it wrote.
  const cache = ProfileCache.fromConfig(cfg);
  const ceilingBatches = sameRows(pending);
  const pool1 = await pool.connect();
  await pool1.query('CREATE TABLE IF NOT EXISTS bench_ceiling (id text PRIMARY KEY, document jsonb NOT NULL, stamps jsonb NOT NULL)');
  // A store batch, then the ceiling's same batch, in turn: the host's speed drifts by tens of
  // percent over a run, and timing all of one after all of the other put that drift in the ratio.
  let storeNs = 0n;
  let ceilingNs = 0n;
  for (let b = 0; b * BATCH < n; b++) {
    let t = process.hrtime.bigint();
    const applied = await applyUpdates(pool, pending.slice(b * BATCH, (b + 1) * BATCH), cfg.BELTLINE_EXPIRY_BUCKET_MS, cache);
    storeNs += process.hrtime.bigint() - t;
    if (applied.outbox !== null) outbox.push(applied.outbox.id);
    t = process.hrtime.bigint();
    await pool1.query(
      `INSERT INTO bench_ceiling (id, document, stamps) SELECT x.id, x.d, x.s FROM jsonb_to_recordset($1::jsonb) AS x(id text, d jsonb, s jsonb)
       ON CONFLICT (id) DO UPDATE SET document = excluded.document, stamps = excluded.stamps`,
      [ceilingBatches[b]],
    );
    ceilingNs += process.hrtime.bigint() - t;
  }
  const storeSec = Number(storeNs) / 1e9;
  const ceilingSec = Number(ceilingNs) / 1e9;
  await pool1.query('DROP TABLE bench_ceiling');
  pool1.release();
  await pool.query('DELETE FROM profiles WHERE id LIKE $1', [`bench-${run}-%`]);
  await pool.query('DELETE FROM profile_changes WHERE id = ANY($1::bigint[])', [outbox]);

  // 1,000,000 pending expirations, 1,000 per one-minute bucket; the first bucket holds real values.
  const total = opts.expirations ?? 1_000_000;
  const perBucket = 1000;
  const bucketMs = 60_000;
  const first = 10_000_000 + Math.floor(Math.random() * 1_000_000);
  await pool.query(
    `INSERT INTO expirations (profile_id, path, kind, due_at, bucket, stamp_in, stamp_eid)
     SELECT 'bench-exp-' || g, ARRAY['v'], 'ttn', to_timestamp(((${first}::bigint + g / ${perBucket}) * ${bucketMs}) / 1000.0), ${first}::bigint + g / ${perBucket}, 0, 'bench-' || g
       FROM generate_series(${perBucket}, ${total - 1}) g`,
  );
  const ttl: PendingUpdate[] = Array.from({ length: perBucket }, (_, i) => ({
    update: { _id: `bench-exp-${run}-${i}`, _path: ['v'], _value: { _v: i, _in: 0, _ttl: 'PT1S' } },
    ctx: { eventId: `bench-exp-${run}-${i}`, created: 0 },
  }));
  for (let i = 0; i < ttl.length; i += BATCH) await applyUpdates(pool, ttl.slice(i, i + BATCH), bucketMs);
  await pool.query('UPDATE expirations SET bucket = $1 WHERE profile_id LIKE $2', [first, `bench-exp-${run}-%`]);
  const { rows } = await pool.query<{ buckets: number; pending: number }>('SELECT count(DISTINCT bucket)::int AS buckets, count(*)::int AS pending FROM expirations');

  const topic = `bench-reap-${run}`;
  const admin = createKafka(cfg, 'bench').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
  await admin.disconnect();
  const producer = new ResilientProducer(createKafka(cfg, 'bench'));
  const reapStart = Date.now();
  let reaped = 0;
  for (;;) {
    const page = await reapPage(pool, producer, topic, first);
    reaped += page.expired;
    if (page.taken < 500) break;
  }
  const reapSec = (Date.now() - reapStart) / 1000;
  await producer.disconnect();
  // The broker keeps a topic until it is deleted: one per run piled up on the development broker.
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  await pool.query("DELETE FROM expirations WHERE stamp_eid LIKE 'bench-%'");
  await pool.query("DELETE FROM profiles WHERE id LIKE 'bench-exp-%'");
  await pool.end();

  return {
    bench: 'profiles',
    updates: n,
    updatesPerSec: Math.round(n / storeSec),
    ceilingRowsPerSec: Math.round(n / ceilingSec),
    ratioToCeiling: Math.round((ceilingSec / storeSec) * 1000) / 1000,
    pendingExpirations: rows[0].pending,
    reaperWorkflowsOpen: rows[0].buckets,
    dueBucket: { values: perBucket, expired: reaped, seconds: reapSec },
  };
}

/** Each batch's rows as the store writes them (id, document, stamps), as one JSON parameter. */
function sameRows(pending: PendingUpdate[]): string[] {
  const states = new Map<string, ProfileState>();
  const batches: string[] = [];
  for (let i = 0; i < pending.length; i += BATCH) {
    const ids = new Set<string>();
    for (const { update, ctx } of pending.slice(i, i + BATCH)) {
      const state = states.get(update._id) ?? { document: {}, stamps: {} };
      states.set(update._id, state);
      if (applyUpdate(state, update, ctx, noEffects())) ids.add(update._id);
    }
    batches.push(JSON.stringify([...ids].sort().map((id) => ({ id, d: states.get(id)?.document, s: states.get(id)?.stamps }))));
  }
  return batches;
}

if (require.main === module) {
  benchProfiles()
    .then((r) => console.log(JSON.stringify(r)))
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
