import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { settingDurationMs } from './shared/durations';

/** Repository root: everything beltline installs or writes at run time goes below `.beltline/` here. */
export const REPO_ROOT = path.resolve(__dirname, '..', __dirname.includes(`${path.sep}dist${path.sep}`) ? '..' : '');

const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
/** A duration in ms: `500ms`, `1s`, `30s`, `2m`, `1h`, a plain number of ms, or ISO-8601 (`PT30S`). */
const duration = (examples: string) =>
  z
    .string()
    .refine((v) => settingDurationMs(v) !== null, `a duration such as ${examples}`)
    .transform((v) => settingDurationMs(v) as number);
const durationMs = duration('500ms, 1s, 30s, 2m or PT30S').pipe(z.number().int().positive());
/** The same, where 0 (none) is allowed too. */
const durationOrZeroMs = duration('0, 500ms, 1s, 30s, 2m or PT30S').pipe(z.number().int().min(0));
/** A switch: `true`/`1` or `false`/`0`. */
const flag = (on: boolean) => z.enum(['true', 'false', '1', '0']).default(on ? 'true' : 'false').transform((v) => v === 'true' || v === '1');

const schema = z.object({
  BELTLINE_HOME: z.string().default(path.join(REPO_ROOT, '.beltline')),
  BELTLINE_HTTP_HOST: z.string().default('127.0.0.1'),
  BELTLINE_HTTP_PORT: port.default(8080),
  BELTLINE_ADMIN_KEY: z.string().min(16).optional(),
  BELTLINE_MAX_BODY_BYTES: positiveInt.default(1_000_000),
  /**
   * Collector bounds (README, "Collector bounds"): a request over one of them is refused whole
   * with a 400 naming the event and field. Events per request (tp2 `data`, a JSON array).
   */
  BELTLINE_MAX_EVENTS_PER_REQUEST: positiveInt.default(1000),
  /** Characters of an id (eid, uid, duid, nuid/tnuid, sid, e; a JSON event's ids); at most 255, what the event store keeps. */
  BELTLINE_MAX_ID_CHARS: positiveInt.max(255).default(255),
  /** UTF-8 bytes of one string field: a tracker parameter's value, a JSON event's string or key. */
  BELTLINE_MAX_FIELD_BYTES: positiveInt.default(131_072),
  /** How deeply a JSON event may nest objects and arrays. */
  BELTLINE_MAX_JSON_DEPTH: positiveInt.max(1000).default(100),
  /**
   * How long an accepted request's record waits for others to share its Kafka produce request
   * (the answer still waits for Kafka's acknowledgement of that request); a few ms at most.
   */
  BELTLINE_PRODUCE_LINGER_MS: z.coerce.number().int().min(0).max(20).default(2),
  /** Proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs); none by default. */
  BELTLINE_TRUSTED_PROXIES: z.string().default(''),
  /** Domain of the `sp` network-user-id cookie; the collector's host when unset. */
  BELTLINE_COOKIE_DOMAIN: z.string().optional(),
  BELTLINE_BELTS_DIR: z.string().default(path.join(REPO_ROOT, 'examples', 'belts')),
  /** Development: Snowplow Micro-style inspection routes under /micro. */
  BELTLINE_MICRO: flag(false),
  /**
   * Hosts, addresses or CIDRs (comma-separated) actions may target although they are loopback,
   * link-local or private; none by default.
   */
  BELTLINE_ACTION_ALLOWED_HOSTS: z.string().default(''),
  /** Python belts run only where Landlock and seccomp apply, unless this is true (read by PythonBeltPool). */
  BELTLINE_PYTHON_UNCONFINED: z.enum(['true', 'false']).default('false'),
  BELTLINE_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),

  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_PORT: port.default(8233),
  /**
   * The Temporal Web UI the console links workflows to (`<url>/namespaces/<ns>/workflows/<id>`);
   * unset: the local stack's UI on TEMPORAL_UI_PORT when Temporal is on this machine, else no links.
   */
  BELTLINE_TEMPORAL_UI_URL: z.string().url().optional(),
  BELTLINE_TASK_QUEUE: z.string().default('beltline'),

  KAFKA_BROKERS: z.string().default('127.0.0.1:9092'),
  KAFKA_CONTROLLER_PORT: port.default(9093),
  BELTLINE_RAW_TOPIC: z.string().default('raw'),
  BELTLINE_BAD_TOPIC: z.string().default('bad'),
  /** The change stream: every applied profile change (seed 002's profile update messages). */
  BELTLINE_PROFILE_UPDATES_TOPIC: z.string().default('profile-updates'),
  /**
   * Snowplow interop out: every good Snowplow event, as Analytics SDK JSON (seed 003's final
   * topic), published by the batch step that stores it (docs/snowplow.md).
   */
  BELTLINE_ENRICHED_TOPIC: z.string().default('enriched'),
  /**
   * Whether the enriched JSON topic is written. On by default (what Snowplow consumers expect);
   * off, the worker skips encoding and sending a record per event, about a tenth to a fifth of its
   * CPU per event in the end-to-end bench, for a deployment where nothing reads that topic.
   */
  BELTLINE_ENRICHED: flag(true),
  /** The same events as enriched TSV, for Snowplow's loaders; unset: not written. */
  BELTLINE_ENRICHED_TSV_TOPIC: z.string().min(1).optional(),
  /** Bad rows a recovery run could not repair, with the reason (`beltline recover`). */
  BELTLINE_RECOVERY_FAILED_TOPIC: z.string().default('bad-recovery-failed'),
  /**
   * Partitions of `raw` (and `enriched`), made by the stack and the collector; a topic is grown to
   * it, never shrunk. Keep them to about BATCH_MAX_IN_FLIGHT per bridge: a fetch hands a bridge every
   * partition's records at once and the next fetch waits until each has a slot, so partitions
   * beyond the slots wait a batch's time. One bridge on the 2-core bench host, 2 vs 4 partitions at
   * 1,000 events/s: p50 304-352 vs 433-610 ms, p99 548-680 vs 914-1,581, the same full speed.
   */
  BELTLINE_RAW_PARTITIONS: positiveInt.default(2),
  BELTLINE_CONSUMER_GROUP: z.string().default('beltline-bridge'),

  DATABASE_URL: z.string().url().optional(),
  PGPORT_EMBEDDED: port.default(54320),
  /** The embedded server's database (created by `stack up`); the tests use their own. Ignored with DATABASE_URL. */
  BELTLINE_DATABASE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier').default('beltline'),

  /** How often a worker deletes events past their type's eventstoreTTL. */
  BELTLINE_RETENTION_INTERVAL_MS: positiveInt.default(60_000),

  /**
   * Profiles a worker keeps as it wrote them, per project, so a batch touching a profile it wrote
   * before only locks the row instead of reading it back (src/profiles/cache.ts; the row's version
   * decides, so a profile written by anything else since is read). 0: off.
   */
  BELTLINE_PROFILE_CACHE: z.coerce.number().int().min(0).default(20_000),

  /** Width of an expiry bucket: one reaper workflow per bucket. */
  BELTLINE_EXPIRY_BUCKET_MS: positiveInt.default(60_000),

  /**
   * The retry policy of a batch's activities: after this many attempts (backing off from 1 s up
   * to the interval) the batch fails, its input kept in Temporal for `beltline replay`.
   */
  BELTLINE_ACTIVITY_MAX_ATTEMPTS: positiveInt.default(40),
  BELTLINE_ACTIVITY_MAX_INTERVAL: durationMs.default(30_000),
  /** How long one step of a batch may run; a worker that dies mid-step is noticed after this. Unset: 2 min (5 min for a belt run). */
  BELTLINE_ACTIVITY_TIMEOUT: durationMs.optional(),
  /** A Prometheus `GET /metrics` listener of its own (any role); unset: none. */
  BELTLINE_METRICS_HOST: z.string().default('127.0.0.1'),
  BELTLINE_METRICS_PORT: port.optional(),

  /** How long each dependency check of `GET /ready` may take; a probe's own timeout must be longer. */
  BELTLINE_READY_TIMEOUT: durationMs.default(2_000),
  /**
   * After SIGTERM, how long the process keeps serving while `/ready` answers 503, so load
   * balancers stop sending before the collector stops accepting (docs/operating.md, "Shutdown").
   */
  BELTLINE_SHUTDOWN_DELAY: durationOrZeroMs.default(0),
  /** The most a shutdown takes from SIGTERM to exit; past it the process exits at once (code 1). */
  BELTLINE_SHUTDOWN_GRACE: durationMs.default(25_000),

  /**
   * Batches (see docs/operating.md, "Batches"): at most this many Kafka records (a collector request is one
   * record) and bytes. They are caps: under light load a batch leaves after the linger with what
   * came; under backlog it fills up. Records are staged in PostgreSQL, not carried through Temporal.
   */
  BATCH_MAX_EVENTS: positiveInt.default(1000),
  BATCH_MAX_BYTES: positiveInt.max(64_000_000).default(4_000_000),
  BATCH_LINGER_MS: positiveInt.default(50),
  /**
   * Batches one bridge keeps in flight (started, not finished); past that it waits and batches grow.
   * Two keep a worker process busy (one batch runs while the other waits on PostgreSQL or Temporal);
   * more only interleave on its one event loop: on the 2-core bench host 4 were slower than 2, in
   * latency at 1,000 events/s and in throughput at full speed. About two per worker process in all.
   */
  BATCH_MAX_IN_FLIGHT: positiveInt.default(2),
  /**
   * The longest a batch holds one of those slots. A batch still running after it (retrying through
   * its policy, or waiting for a worker) runs on, but its slot goes to the next batch: two poison
   * batches must not stall a bridge for their whole retry policy. Far above a batch's usual seconds.
   */
  BATCH_SLOT_TIMEOUT: durationMs.default(30_000),
  /** How long a finished batch's staged records are kept (a failed batch's are kept until replayed). */
  BELTLINE_STAGED_RETENTION: durationMs.default(3_600_000),
  /** How long a change-stream message stays in the outbox (profile_changes) once Kafka has it. */
  BELTLINE_OUTBOX_RETENTION: durationMs.default(3_600_000),
  /** The SQL console (POST /projects/<p>/sql): a query's statement timeout, and the rows it returns at most. */
  BELTLINE_SQL_TIMEOUT: durationMs.default(5_000),
  BELTLINE_SQL_MAX_ROWS: positiveInt.max(100_000).default(1000),
});

/** Every environment variable the configuration reads (the docs' configuration table lists each). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export type Config = z.infer<typeof schema> & {
  /** The PostgreSQL URL in force: DATABASE_URL, or the embedded server's. */
  databaseUrl: string;
  /** True when beltline runs its own embedded PostgreSQL. */
  embeddedPostgres: boolean;
  kafkaBrokers: string[];
};

/**
 * The embedded server's password: random per data folder, written (mode 0600) in BELTLINE_HOME
 * when `stack up` initialises the cluster. A data folder initialised before this file existed
 * keeps the fixed password it was created with.
 */
export const LEGACY_EMBEDDED_PASSWORD = 'beltline';

export function embeddedPasswordFile(home: string): string {
  return path.join(home, 'postgres-password');
}

/** The embedded server's password from BELTLINE_HOME, or the legacy one when the file is absent. */
export function readEmbeddedPassword(home: string): string {
  try {
    const pw = fs.readFileSync(embeddedPasswordFile(home), 'utf8').trim();
    if (pw) return pw;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return LEGACY_EMBEDDED_PASSWORD;
}

export function embeddedDatabaseUrl(pgPort: number, password: string = LEGACY_EMBEDDED_PASSWORD, database = 'beltline'): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${pgPort}/${database}`;
}

/** Reads the configuration from the environment; a bad value names the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${msg}`);
  }
  const c = parsed.data;
  return {
    ...c,
    databaseUrl: c.DATABASE_URL ?? embeddedDatabaseUrl(c.PGPORT_EMBEDDED, readEmbeddedPassword(c.BELTLINE_HOME), c.BELTLINE_DATABASE),
    embeddedPostgres: c.DATABASE_URL === undefined,
    kafkaBrokers: c.KAFKA_BROKERS.split(',').map((s) => s.trim()).filter(Boolean),
  };
}
