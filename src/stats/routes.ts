import type { Admin } from 'kafkajs';
import { errorReplies, type AdminRoutes } from '../http/api';
import { projectParam, requireProject } from '../http/projects';
import { listBelts } from '../belts/registry';
import { consumerGroupLag } from '../bridge/lag';
import { sourceTopic } from '../harvesters/definition';
import { listHarvesters } from '../harvesters/store';
import { createKafka } from '../kafka/producer';
import { logger } from '../log';
import { projectTopic } from '../projects/names';
import { listSegments } from '../segments/catalog';
import { temporalUiBase } from '../temporal/ui';
import { actionFigures, batchSeries, beltSeries, lagByTopic, minuteStarts, seriesByKey, type LagFigure, type Stats } from './series';
import { windowRows } from './store';

const log = logger('stats');

const series = { type: 'object', properties: { name: { type: 'string' }, values: { type: 'array', items: { type: 'number' } }, total: { type: 'number' } } };
const numbers = { type: 'array', items: { type: 'number' } };
const statsSchema = {
  type: 'object',
  properties: {
    windowMinutes: { type: 'integer' },
    minutes: { type: 'array', items: { type: 'string', format: 'date-time' }, description: 'start of each minute of the window, oldest first; every series has one figure per minute' },
    batches: {
      type: 'object',
      properties: {
        batches: numbers,
        records: { ...numbers, description: 'Kafka records staged (a collector request is one)' },
        done: numbers,
        latencyMs: { type: 'array', items: { type: ['number', 'null'] }, description: 'mean staged → done time of the batches staged that minute' },
        notDone: { type: 'integer', description: 'staged batches not done: running, or failed and not yet replayed' },
      },
    },
    sources: { type: 'array', items: series, description: 'records staged per Kafka topic' },
    eventTypes: { type: 'array', items: series, description: 'events stored per event type' },
    belts: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, runs: series, errors: series } } },
    actions: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, sent: { type: 'integer' }, failed: { type: 'integer' }, pending: { type: 'integer' }, belts: { type: 'array', items: { type: 'string' } } } },
    },
    segments: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer' }, rows: { type: 'integer' }, deadLetters: { type: 'integer' } } },
    },
    lag: {
      type: 'object',
      properties: {
        group: { type: 'string' },
        total: { type: ['integer', 'null'] },
        topics: { type: 'array', items: { type: 'object', properties: { topic: { type: 'string' }, lag: { type: 'integer' } } } },
        error: { type: 'string' },
      },
    },
    temporal: { type: 'object', properties: { uiUrl: { type: ['string', 'null'] }, namespace: { type: 'string' } } },
  },
};

const LAG_TIMEOUT_MS = 3000;

/**
 * `GET /projects/:project/stats`: the project's throughput, errors, latency and consumer lag over
 * the last minutes, for the console's pipeline graph and operations page. Unlike /metrics (this
 * process's counters, every project's, instance key only) it is read from PostgreSQL, so it covers
 * every process of the deployment and a project key may read its own.
 */
export const statsRoutes: AdminRoutes = (app, deps) => {
  const { projects, cfg } = deps;
  let admin: Promise<Admin> | undefined;
  app.addHook('onClose', async () => {
    if (admin) await (await admin.catch(() => undefined))?.disconnect();
  });
  const kafkaAdmin = (): Promise<Admin> => {
    admin ??= (async () => {
      const a = createKafka(cfg, 'beltline-stats').admin();
      await a.connect();
      return a;
    })().catch((err: unknown) => {
      admin = undefined;
      throw err;
    });
    return admin;
  };

  async function lag(project: string, harvested: string[]): Promise<LagFigure> {
    const group = cfg.BELTLINE_CONSUMER_GROUP;
    const topics = [...new Set([projectTopic(cfg.BELTLINE_RAW_TOPIC, project), ...harvested])];
    let timer: NodeJS.Timeout | undefined;
    try {
      // An unreachable Kafka must not hold the whole answer: the lag is then unknown, said so.
      const partitions = await Promise.race([
        // A harvester may name a topic not made yet: nothing of it to lag behind (the bridge skips it too).
        kafkaAdmin().then(async (a) => {
          const existing = new Set(await a.listTopics());
          return consumerGroupLag(a, group, topics.filter((t) => existing.has(t)));
        }),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`Kafka did not answer within ${LAG_TIMEOUT_MS} ms`)), LAG_TIMEOUT_MS))),
      ]);
      return lagByTopic(group, partitions);
    } catch (err) {
      log.warn({ err: (err as Error).message, project }, 'consumer lag unavailable');
      return { group, total: null, topics: [], error: (err as Error).message };
    } finally {
      clearTimeout(timer);
    }
  }

  app.get(
    '/projects/:project/stats',
    {
      schema: {
        tags: ['operations'],
        summary: "A project's throughput, errors, batch latency and consumer lag over the last minutes (from PostgreSQL and Kafka; every process's work)",
        params: projectParam,
        querystring: { type: 'object', properties: { minutes: { type: 'integer', minimum: 1, maximum: 60, default: 10 } } },
        response: { 200: statsSchema, ...errorReplies(400, 404) },
      },
    },
    async (req): Promise<Stats> => {
      const { project } = req.params as { project: string };
      const { minutes } = req.query as { minutes: number };
      await requireProject(projects, project);
      const db = projects.db(project);
      const starts = minuteStarts(new Date(), minutes);
      const [rows, belts, harvesters, segments] = await Promise.all([windowRows(db, starts[0]), listBelts(db), listHarvesters(db, project), listSegments(db, project)]);
      const harvested = harvesters.flatMap((h) => sourceTopic(h) ?? []);
      return {
        windowMinutes: minutes,
        minutes: starts.map((d) => d.toISOString()),
        batches: batchSeries(rows.batches, starts, rows.notDone),
        sources: seriesByKey(rows.sources, starts),
        eventTypes: seriesByKey(rows.eventTypes, starts),
        belts: beltSeries(rows.belts, starts, belts.map((b) => b.name)),
        actions: actionFigures(rows.actions),
        // Only each segment's newest version takes rows.
        segments: segments.filter((s, i, all) => !all.some((o, j) => j > i && o.name === s.name)).map((s) => ({ name: s.name, version: s.version, rows: s.rows, deadLetters: s.deadLetters })),
        lag: await lag(project, harvested),
        temporal: { uiUrl: temporalUiBase(cfg), namespace: cfg.TEMPORAL_NAMESPACE },
      };
    },
  );
};
