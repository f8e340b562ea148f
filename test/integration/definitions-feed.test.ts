import type { Pool } from 'pg';
import { loadConfig } from '../../src/config';
import { DefinitionsFeed, type DefinitionChange, type FeedEvent } from '../../src/db/definitions-feed';
import { createHarvester, deleteHarvester } from '../../src/harvesters/store';
import { testPool, waitFor } from '../support/beltline';

/**
 * The feed on the real PostgreSQL: a committed write is heard (a rolled-back one is not), a lost
 * connection is re-established by itself and says `reset`, and `catchUp` notices a version it
 * did not hear of.
 */
describe('DefinitionsFeed', () => {
  const s = Date.now().toString(36);
  const appName = `defs-feed-test-${s}`;
  let pool: Pool;
  let feed: DefinitionsFeed;
  const heard: FeedEvent[] = [];
  const harvester = (name: string) => ({ name, displayName: name, source: { kind: 'collector' as const }, script: 'return null;', eventType: 'nope', running: false });

  /** Resolves with the first event heard from now on that `match` accepts. */
  function next(match: (e: FeedEvent) => boolean): Promise<FeedEvent> {
    return new Promise((resolve) => {
      const off = feed.subscribe((e) => {
        if (!match(e)) return;
        off();
        resolve(e);
      });
    });
  }
  const mine = (name: string) => (e: FeedEvent) => e !== 'reset' && e.name === name;

  beforeAll(async () => {
    pool = testPool();
    feed = new DefinitionsFeed(loadConfig().databaseUrl, { applicationName: appName, minDelayMs: 50, maxDelayMs: 200 });
    feed.subscribe((e) => heard.push(e));
    await feed.start();
    expect(feed.listening).toBe(true);
  });

  afterAll(async () => {
    await pool.query('DELETE FROM harvesters WHERE name LIKE $1', [`%-${s}`]);
    await feed.stop();
    await pool.end();
  });

  it('hears a committed change with its kind, project, name and version; a rolled-back one not', async () => {
    const rolledBack = `rolled-back-${s}`;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("INSERT INTO harvesters (project, name, definition) VALUES ('default', $1, '{}')", [rolledBack]);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    const name = `created-${s}`;
    const created = next(mine(name));
    await createHarvester(pool, 'default', harvester(name));
    const change = (await created) as DefinitionChange;
    expect(change).toEqual({ kind: 'harvester', project: 'default', name, version: expect.any(Number) });
    const { rows } = await pool.query<{ version: string }>('SELECT version FROM definitions_version');
    expect(Number(rows[0].version)).toBeGreaterThanOrEqual(change.version);

    const deleted = next(mine(name));
    await deleteHarvester(pool, 'default', name);
    expect(((await deleted) as DefinitionChange).version).toBeGreaterThan(change.version);
    // Notifications come in commit order: had the rolled-back insert been sent, it would be here by now.
    expect(heard.filter(mine(rolledBack))).toEqual([]);
  });

  it('reconnects by itself when its connection is cut, says reset, and hears changes again', async () => {
    const reset = next((e) => e === 'reset');
    const { rows } = await pool.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [appName]);
    expect(rows).toEqual([{ ok: true }]);
    await reset;
    await waitFor('the feed to listen again', async () => (feed.listening ? true : undefined));
    const name = `after-cut-${s}`;
    const created = next(mine(name));
    await createHarvester(pool, 'default', harvester(name));
    expect(await created).toMatchObject({ kind: 'harvester', name });
  });

  it('catchUp resets when the stored version is past the last one heard, and not otherwise', async () => {
    // A feed that never listens hears nothing: only the version tells it.
    const deaf = new DefinitionsFeed(loadConfig().databaseUrl);
    const events: FeedEvent[] = [];
    deaf.subscribe((e) => events.push(e));
    // Other processes on this database may change definitions too: hold their writes meanwhile.
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT version FROM definitions_version FOR SHARE');
      await deaf.catchUp(pool);
      expect(events).toEqual(['reset']);
      await deaf.catchUp(pool);
      expect(events).toEqual(['reset']);
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    await createHarvester(pool, 'default', harvester(`caught-up-${s}`));
    await deaf.catchUp(pool);
    expect(events).toEqual(['reset', 'reset']);
  });
});
