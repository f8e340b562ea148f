import crypto from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { loadConfig } from '../../src/config';
import { bucketOf } from '../../src/expiry/buckets';
import { applyUpdates } from '../../src/profiles/store';
import { heartbeatOptions } from '../../src/workers/heartbeat';
import { reapBucket } from '../../src/workflows';
import { testPool } from '../support/beltline';
import { freshTopic, readAll } from '../support/kafka';
import { createTimeSkippingEnvironment } from '../support/time-skipping';

/**
 * A P3M time-to-live, reaped in seconds: the reaper workflow's durable timer runs on Temporal's
 * time-skipping test server, its activities on the real PostgreSQL and Kafka.
 */
describe('time-to-live of months under the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let pool: Pool;

  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('WARN') });
    env = await createTimeSkippingEnvironment();
    pool = testPool();
  }, 300_000);

  afterAll(async () => {
    await pool?.end();
    await env?.teardown();
    // The native runtime keeps threads alive that would keep jest from exiting.
    await Runtime.instance().shutdown();
  });

  it('expires a P3M value when its bucket comes, three months of workflow time later', async () => {
    const { topic } = await freshTopic('ttl-skip-raw', 1);
    const bucketMs = 86_400_000;
    const cfg = { ...loadConfig(), BELTLINE_RAW_TOPIC: topic, BELTLINE_EXPIRY_BUCKET_MS: bucketMs };
    const id = `p3m-${crypto.randomBytes(4).toString('hex')}`;
    const start = await env.currentTimeMs();
    const applied = await applyUpdates(
      pool,
      [{ update: { _id: id, _path: ['offer'], _value: { _v: 'spring sale', _in: start, _ttl: 'P3M' } }, ctx: { eventId: `${id}-e1`, created: start } }],
      bucketMs,
    );
    expect(applied.buckets).toEqual([bucketOf(start + 90 * 86_400_000, bucketMs)]);

    const activities = createActivities(pool, cfg);
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'ttl-skip',
      workflowsPath: require.resolve('../../src/workflows'),
      activities: { reapBucketPage: activities.reapBucketPage },
      ...heartbeatOptions,
    });
    const result = await worker.runUntil(
      env.client.workflow.execute(reapBucket, { taskQueue: 'ttl-skip', workflowId: `reaper-test-${id}`, args: [{ bucket: applied.buckets[0], bucketMs }] }),
    );
    expect(result).toEqual({ expired: 1, notified: 0 });
    expect((await env.currentTimeMs()) - start).toBeGreaterThanOrEqual(90 * 86_400_000);
    const { rows } = await pool.query('SELECT document FROM profiles WHERE id = $1', [id]);
    expect(rows[0].document).toEqual({});
    const emitted = (await readAll(topic, 1)).map((v) => JSON.parse(v) as { eventType: string; events: { profileId: string; oldValue: string }[] });
    expect(emitted).toEqual([expect.objectContaining({ eventType: 'profile-ttl', events: [expect.objectContaining({ profileId: id, oldValue: 'spring sale' })] })]);
  }, 300_000);
});
