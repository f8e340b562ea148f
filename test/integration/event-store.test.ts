import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../../src/config';
import { admin, ensureEventType, startBeltline, waitFor, type BeltlineProcess } from '../support/beltline';
import { freshTopic } from '../support/kafka';

describe('event store', () => {
  const s = Date.now().toString(36);
  const type = `store-${s}`;
  let beltline: BeltlineProcess;

  beforeAll(async () => {
    const { topic, group } = await freshTopic('event-store-test');
    beltline = await startBeltline({ port: 18086, env: { BELTLINE_RAW_TOPIC: topic, BELTLINE_CONSUMER_GROUP: group, BELTLINE_RETENTION_INTERVAL_MS: '500', BELTLINE_TASK_QUEUE: `event-store-${Date.now().toString(36)}` } });
    await ensureEventType(beltline.url, {
      name: type,
      displayName: 'Store test',
      eventIdExpression: '$.id',
      timestampExpression: '$.at',
      correlationIdExpression: '$.who',
      eventstoreTTL: 'PT1H',
    });
  }, 120_000);

  afterAll(async () => {
    await beltline?.stop();
  });

  const page = async (query: string) => {
    const res = await admin(beltline.url, 'GET', `/projects/default/event-types/${type}/events${query}`);
    expect(res.status).toBe(200);
    return (await res.json()) as { events: { eventId: string }[]; next: string | null };
  };

  it('keeps events for the type\'s eventstoreTTL, browsable in pages, and deletes older ones', async () => {
    const now = Date.now();
    const fresh = Array.from({ length: 5 }, (_, i) => ({ id: `${s}-fresh-${i}`, at: new Date(now - i * 60_000).toISOString(), who: `u${i % 2}` }));
    const stale = { id: `${s}-stale`, at: new Date(now - 2 * 3600_000).toISOString(), who: 'u' };
    const res = await fetch(`${beltline.url}/api/v1/events/${type}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([...fresh, stale]),
    });
    expect(res.status).toBe(200);

    // Five fresh events arrive; the two-hour-old one is past the one-hour TTL and is removed.
    const all = await waitFor('5 fresh events and the stale one gone', async () => {
      const p = await page('?limit=100');
      return p.events.length === 5 ? p : undefined;
    });
    expect(all.events.map((e) => e.eventId)).toEqual([...fresh].reverse().map((e) => e.id));

    const first = await page('?limit=2');
    expect(first.events.map((e) => e.eventId)).toEqual([fresh[4].id, fresh[3].id]);
    const second = await page(`?limit=2&after=${first.next}`);
    expect(second.events.map((e) => e.eventId)).toEqual([fresh[2].id, fresh[1].id]);
    const ranged = await page(`?from=${encodeURIComponent(fresh[1].at)}&to=${encodeURIComponent(new Date(now + 1).toISOString())}`);
    expect(ranged.events.map((e) => e.eventId)).toEqual([fresh[1].id, fresh[0].id]);
    expect((await admin(beltline.url, 'GET', `/projects/default/event-types/${type}/events?after=nonsense`)).status).toBe(400);

    // Newest first (the console's browser): the cursor pages back in time.
    const newest = await page('?limit=2&order=desc');
    expect(newest.events.map((e) => e.eventId)).toEqual([fresh[0].id, fresh[1].id]);
    const older = await page(`?limit=2&order=desc&after=${newest.next}`);
    expect(older.events.map((e) => e.eventId)).toEqual([fresh[2].id, fresh[3].id]);
    const oldest = await page(`?limit=2&order=desc&after=${older.next}`);
    expect(oldest.events.map((e) => e.eventId)).toEqual([fresh[4].id]);
    expect(oldest.next).toBeNull();
    // One correlation id's events, in either order.
    expect((await page('?correlationId=u1')).events.map((e) => e.eventId)).toEqual([fresh[3].id, fresh[1].id]);
    expect((await page('?correlationId=u0&order=desc&limit=2')).events.map((e) => e.eventId)).toEqual([fresh[0].id, fresh[2].id]);
    expect((await page('?correlationId=nobody')).events).toEqual([]);
    expect((await admin(beltline.url, 'GET', `/projects/default/event-types/${type}/events?order=sideways`)).status).toBe(400);

    const cli = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'src', 'cli', 'index.js'), 'events', type, '--limit', '3'], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    expect(cli.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { eventId: string }).eventId)).toEqual([fresh[4].id, fresh[3].id, fresh[2].id]);
    expect(cli.stderr).toMatch(/more: --after /);
  }, 60_000);
});
