import {
  DefinitionCache,
  DefinitionsUnavailableError,
  parseChange,
  reconnectDelay,
  type DefinitionEvents,
  type DefinitionSource,
  type FeedEvent,
  type FeedListener,
} from '../../src/db/definitions-feed';

interface Def {
  name: string;
  v: number;
}

/** A store the test edits, counting reads, and able to fail like an unreachable PostgreSQL. */
function harness(opts: { serveStale?: boolean } = {}) {
  const stored = new Map<string, Def>([['a', { name: 'a', v: 1 }]]);
  const reads = { all: 0, one: 0 };
  let down = false;
  let onLoad: (() => void) | undefined;
  const unreachable = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:54320'), { code: 'ECONNREFUSED' });
  const source: DefinitionSource<Def> = {
    kind: 'event_type',
    async all() {
      reads.all++;
      if (down) throw unreachable();
      const snapshot = [...stored.values()].map((d) => ({ ...d }));
      onLoad?.();
      return snapshot;
    },
    async one(_project, name) {
      reads.one++;
      if (down) throw unreachable();
      const d = stored.get(name);
      return d && { ...d };
    },
    nameOf: (d) => d.name,
  };
  const listeners = new Set<FeedListener>();
  const feed: DefinitionEvents = {
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  let now = 1_000_000;
  const cache = new DefinitionCache(source, feed, { serveStale: opts.serveStale, retryAfterMs: 1000, now: () => now });
  return {
    stored,
    reads,
    cache,
    emit: (e: FeedEvent) => listeners.forEach((l) => l(e)),
    setDown: (d: boolean) => (down = d),
    advance: (ms: number) => (now += ms),
    duringNextLoad: (fn: () => void) => {
      onLoad = () => {
        onLoad = undefined;
        fn();
      };
    },
  };
}

const change = (kind: 'event_type' | 'harvester', name: string, version = 1): FeedEvent => ({ kind, project: 'default', name, version });

describe('parseChange', () => {
  it('reads the payload the trigger sends', () => {
    expect(parseChange('{"kind":"event_type","project":"default","name":"clicks","version":42}')).toEqual({ kind: 'event_type', project: 'default', name: 'clicks', version: 42 });
  });

  it.each([undefined, '', 'not json', 'null', '[]', '{"kind":"table","project":"p","name":"n","version":1}', '{"kind":"belt","project":"p","name":"n"}', '{"kind":"belt","project":1,"name":"n","version":1}', '{"kind":"belt","project":"p","name":"n","version":1.5}'])(
    'ignores %p',
    (payload) => {
      expect(parseChange(payload)).toBeUndefined();
    },
  );
});

describe('reconnectDelay', () => {
  it('doubles from the minimum up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 100].map((n) => reconnectDelay(n, 250, 5000))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
  });
});

describe('DefinitionCache', () => {
  it('reads a project once, then serves it from memory', async () => {
    const h = harness();
    expect([...(await h.cache.all('default')).keys()]).toEqual(['a']);
    await h.cache.all('default');
    expect(await h.cache.get('default', 'a')).toEqual({ name: 'a', v: 1 });
    expect(h.reads).toEqual({ all: 1, one: 0 });
  });

  it('reloads after a change of its kind or a reset, not after a change of another kind', async () => {
    const h = harness();
    await h.cache.all('default');
    h.stored.set('a', { name: 'a', v: 2 });
    h.emit(change('harvester', 'a'));
    expect((await h.cache.all('default')).get('a')?.v).toBe(1);
    h.emit(change('event_type', 'a'));
    expect((await h.cache.all('default')).get('a')?.v).toBe(2);
    h.stored.set('a', { name: 'a', v: 3 });
    h.emit('reset');
    expect((await h.cache.all('default')).get('a')?.v).toBe(3);
    expect(h.reads.all).toBe(3);
  });

  it('loads again when a change is heard while a load runs: what it read may predate the change', async () => {
    const h = harness();
    h.duringNextLoad(() => {
      h.stored.set('b', { name: 'b', v: 1 });
      h.emit(change('event_type', 'b'));
    });
    expect([...(await h.cache.all('default')).keys()].sort()).toEqual(['a', 'b']);
    expect(h.reads.all).toBe(2);
  });

  it('reads a name it does not hold from the store before answering, and then reloads', async () => {
    const h = harness();
    await h.cache.all('default');
    h.stored.set('new', { name: 'new', v: 1 });
    // No notification yet: the cache does not know.
    expect(await h.cache.get('default', 'new')).toEqual({ name: 'new', v: 1 });
    expect(h.reads).toEqual({ all: 1, one: 1 });
    expect((await h.cache.all('default')).has('new')).toBe(true);
    expect(h.reads.all).toBe(2);
  });

  it('answers undefined for a name the store does not hold either, without reloading', async () => {
    const h = harness();
    expect(await h.cache.get('default', 'nope')).toBeUndefined();
    await h.cache.all('default');
    expect(h.reads).toEqual({ all: 1, one: 1 });
  });

  it('checks a held definition the caller finds unacceptable against the store', async () => {
    const h = harness();
    await h.cache.all('default');
    h.stored.set('a', { name: 'a', v: 2 });
    expect(await h.cache.get('default', 'a', (d) => d.v === 2)).toEqual({ name: 'a', v: 2 });
    expect(await h.cache.get('default', 'a', (d) => d.v === 2)).toEqual({ name: 'a', v: 2 });
    expect(h.reads).toEqual({ all: 2, one: 1 });
    // Deleted in the store, held here: the store's answer counts.
    h.stored.delete('a');
    expect(await h.cache.get('default', 'a', () => false)).toBeUndefined();
  });

  describe('while the store is unreachable', () => {
    it('serves what it holds without asking, whatever the time, and refuses to guess about names it does not hold', async () => {
      const h = harness({ serveStale: true });
      await h.cache.all('default');
      h.setDown(true);
      h.advance(3_600_000);
      expect(await h.cache.get('default', 'a')).toEqual({ name: 'a', v: 1 });
      expect(h.reads).toEqual({ all: 1, one: 0 });
      await expect(h.cache.get('default', 'other')).rejects.toBeInstanceOf(DefinitionsUnavailableError);
      // Asked again at once: answered without a new attempt.
      await expect(h.cache.get('default', 'other')).rejects.toBeInstanceOf(DefinitionsUnavailableError);
      expect(h.reads.one).toBe(1);
    });

    it('with serveStale, serves the held definitions when a reload fails, and reloads once the store is back', async () => {
      const h = harness({ serveStale: true });
      await h.cache.all('default');
      h.emit('reset');
      h.setDown(true);
      expect((await h.cache.all('default')).get('a')?.v).toBe(1);
      expect((await h.cache.all('default')).get('a')?.v).toBe(1);
      expect(h.reads.all).toBe(2);
      h.setDown(false);
      h.stored.set('a', { name: 'a', v: 2 });
      h.advance(1000);
      expect((await h.cache.all('default')).get('a')?.v).toBe(2);
    });

    it('without serveStale, a reload that fails throws', async () => {
      const h = harness();
      await h.cache.all('default');
      h.emit('reset');
      h.setDown(true);
      await expect(h.cache.all('default')).rejects.toBeInstanceOf(DefinitionsUnavailableError);
      await expect(h.cache.all('default')).rejects.toBeInstanceOf(DefinitionsUnavailableError);
      expect(h.reads.all).toBe(2);
    });

    it('with nothing held, throws DefinitionsUnavailableError', async () => {
      const h = harness({ serveStale: true });
      h.setDown(true);
      await expect(h.cache.all('default')).rejects.toBeInstanceOf(DefinitionsUnavailableError);
    });
  });
});
