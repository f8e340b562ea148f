/**
 * Definitions (event types, harvesters, belts, schemas, actions) as every process sees them.
 *
 * Each write to a definition table notifies the channel `beltline_definitions` and bumps
 * `definitions_version` in the writing transaction (migration 015). A process listens on a
 * dedicated connection (`DefinitionsFeed`) and its caches (`DefinitionCache`) drop what a
 * notification names. Notifications can be missed (the listener reconnecting after a restart of
 * PostgreSQL, or a change committed a moment before the notification arrives), so:
 * - a (re)connected listener invalidates everything;
 * - a worker compares the stored version with the last one it heard of before a batch (`catchUp`);
 * - a cache asked for a name it does not hold reads PostgreSQL before saying there is none.
 * A cache never expires by age: while PostgreSQL is unreachable, what it holds keeps serving.
 */
import { Client, type Pool } from 'pg';
import { logger } from '../log';
import { DEFAULT_PROJECT } from '../projects/names';

const log = logger('definitions');

export const DEFINITIONS_CHANNEL = 'beltline_definitions';

/** `project`: a project was created, deleted, or had its keys or settings changed (name = project). */
export const DEFINITION_KINDS = ['event_type', 'harvester', 'belt', 'schema', 'action', 'project'] as const;
export type DefinitionKind = (typeof DEFINITION_KINDS)[number];

export interface DefinitionChange {
  kind: DefinitionKind;
  project: string;
  name: string;
  version: number;
}

/** A notification's payload, or undefined when it is not one of ours. Pure. */
export function parseChange(payload: string | undefined): DefinitionChange | undefined {
  if (!payload) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { kind, project, name, version } = v as Record<string, unknown>;
  if (!DEFINITION_KINDS.includes(kind as DefinitionKind) || typeof project !== 'string' || typeof name !== 'string') return undefined;
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return undefined;
  return { kind: kind as DefinitionKind, project, name, version };
}

/** What listeners hear: one change, or `reset` when changes may have been missed. */
export type FeedEvent = DefinitionChange | 'reset';
export type FeedListener = (e: FeedEvent) => void;

/** What a cache needs of a feed: to hear of changes. */
export interface DefinitionEvents {
  subscribe(listener: FeedListener): () => void;
}

/** Definitions cannot be read: PostgreSQL is unreachable and the cache does not hold the answer. */
export class DefinitionsUnavailableError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DefinitionsUnavailableError';
  }
}

/** Delay before the n-th reconnect attempt (0-based): doubling from `minMs`, capped at `maxMs`. Pure. */
export function reconnectDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}

/**
 * One LISTEN connection per process, reconnecting by itself (with backoff) when PostgreSQL
 * restarts; each (re)connect tells the listeners to reset. Without `start` it listens to nothing,
 * and `catchUp` alone keeps the caches right.
 */
export class DefinitionsFeed implements DefinitionEvents {
  private readonly listeners = new Set<FeedListener>();
  private client: Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private stopped = false;
  private started = false;
  /** Per project (each schema counts its own), the highest version heard of, by notification or by `catchUp`. */
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly databaseUrl: string,
    private readonly opts: { minDelayMs?: number; maxDelayMs?: number; applicationName?: string } = {},
  ) {}

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether the LISTEN connection is up now. */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private emit(e: FeedEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        log.warn({ err }, 'a definitions listener failed');
      }
    }
  }

  /** Connects and listens; resolves after the first attempt whatever its outcome (failures retry on their own). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.connect();
  }

  private async connect(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    // Named, so that pg_stat_activity tells the listeners from the pools' connections.
    const client = new Client({ connectionString: this.databaseUrl, keepAlive: true, application_name: this.opts.applicationName ?? 'beltline-definitions' });
    // Without a listener an 'error' event kills the process; a lost connection is retried.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel !== DEFINITIONS_CHANNEL) return;
      const change = parseChange(msg.payload);
      if (!change) return;
      this.versions.set(change.project, Math.max(this.versions.get(change.project) ?? 0, change.version));
      this.emit(change);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${DEFINITIONS_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      this.retry(err);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    if (this.attempts > 0) log.info({ attempts: this.attempts }, 'listening for definition changes again');
    this.attempts = 0;
    this.client = client;
    // Whatever changed while nobody listened went unheard.
    this.emit('reset');
  }

  private lost(client: Client, err?: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    this.retry(err);
  }

  private retry(err: unknown): void {
    if (this.stopped || this.timer) return;
    const delay = reconnectDelay(this.attempts++, this.opts.minDelayMs ?? 250, this.opts.maxDelayMs ?? 5000);
    if (this.attempts === 1) log.warn({ err, delayMs: delay }, 'definition changes not heard: reconnecting');
    this.timer = setTimeout(() => void this.connect(), delay);
    this.timer.unref();
  }

  /**
   * Reads the stored version of `project` (whose pool `pool` is); when it is past the last one heard of, some change was not heard
   * (yet): listeners reset. After it returns, a cache's next read reflects every change committed
   * before it was called. Throws when PostgreSQL cannot be read.
   */
  async catchUp(pool: Pool, project: string = DEFAULT_PROJECT): Promise<void> {
    const { rows } = await pool.query<{ version: string }>('SELECT version FROM definitions_version');
    const stored = Number(rows[0]?.version ?? 0);
    if (stored <= (this.versions.get(project) ?? 0)) return;
    this.versions.set(project, stored);
    this.emit('reset');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** Where a cache reads one kind of definition from. */
export interface DefinitionSource<T> {
  kind: DefinitionKind;
  all(project: string): Promise<T[]>;
  one(project: string, name: string): Promise<T | undefined>;
  nameOf(item: T): string;
}

interface Entry<T> {
  generation: number;
  items: Map<string, T>;
}

/**
 * One kind of definition per project, held until a change of that kind is heard (then reloaded
 * whole on the next read, since changes are rare and lists short). With `serveStale`, a reload
 * that fails (PostgreSQL unreachable) serves what was held; otherwise it throws.
 */
export class DefinitionCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly loading = new Map<string, Promise<Map<string, T>>>();
  /** Bumped by every change heard: an entry loaded under an older generation is stale. */
  private generation = 0;
  /** After a failed read, PostgreSQL is not asked again before this time (ms). */
  private unreachableUntil = 0;

  constructor(
    private readonly source: DefinitionSource<T>,
    feed: DefinitionEvents | undefined,
    private readonly opts: { serveStale?: boolean; retryAfterMs?: number; now?: () => number } = {},
  ) {
    feed?.subscribe((e) => {
      if (e === 'reset' || e.kind === source.kind) this.generation++;
    });
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Marks everything stale: the next read reloads. */
  invalidate(): void {
    this.generation++;
  }

  private unreachable(err: unknown, what: string): DefinitionsUnavailableError {
    this.unreachableUntil = this.now() + (this.opts.retryAfterMs ?? 1000);
    return err instanceof DefinitionsUnavailableError ? err : new DefinitionsUnavailableError(`${what} cannot be read: PostgreSQL is unreachable`, err);
  }

  private load(project: string): Promise<Map<string, T>> {
    let p = this.loading.get(project);
    if (!p) {
      const generation = this.generation;
      p = this.source
        .all(project)
        .then((items) => {
          const map = new Map(items.map((i) => [this.source.nameOf(i), i]));
          this.entries.set(project, { generation, items: map });
          return map;
        })
        .finally(() => this.loading.delete(project));
      this.loading.set(project, p);
    }
    return p;
  }

  /** Every definition of the kind in the project, current as of the last change heard. */
  async all(project: string): Promise<ReadonlyMap<string, T>> {
    // A change heard while a load ran may not be in it: load again (a few times at most).
    for (let tries = 0; ; tries++) {
      const held = this.entries.get(project);
      if (held && held.generation === this.generation) return held.items;
      if (this.now() < this.unreachableUntil) {
        if (held && this.opts.serveStale) return held.items;
        throw new DefinitionsUnavailableError(`${this.source.kind} definitions cannot be read: PostgreSQL is unreachable`);
      }
      let items: Map<string, T>;
      try {
        items = await this.load(project);
      } catch (err) {
        const e = this.unreachable(err, `${this.source.kind} definitions`);
        if (held && this.opts.serveStale) return held.items;
        throw e;
      }
      if (tries >= 2 || this.entries.get(project)?.generation === this.generation) return items;
    }
  }

  /**
   * One definition by name. What the cache holds is taken when `acceptable` (default: any)
   * finds it so; a miss, or a held definition found unacceptable, is read from PostgreSQL before
   * the answer: a caller refuses nothing on the word of a stale cache. A read that finds the
   * cache wrong invalidates it. DefinitionsUnavailableError when PostgreSQL cannot say.
   */
  async get(project: string, name: string, acceptable: (item: T) => boolean = () => true): Promise<T | undefined> {
    const held = (await this.all(project)).get(name);
    if (held !== undefined && acceptable(held)) return held;
    if (this.now() < this.unreachableUntil) throw new DefinitionsUnavailableError(`${this.source.kind} ${JSON.stringify(name)} cannot be read: PostgreSQL is unreachable`);
    let stored: T | undefined;
    try {
      stored = await this.source.one(project, name);
    } catch (err) {
      throw this.unreachable(err, `${this.source.kind} ${JSON.stringify(name)}`);
    }
    // The cache missed a change not heard yet: reload it next time rather than patch it here,
    // where a load under way could overwrite the patch with what it read before.
    if (JSON.stringify(stored) !== JSON.stringify(held)) this.invalidate();
    return stored;
  }
}
