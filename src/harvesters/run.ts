import crypto from 'node:crypto';
import type { Pool } from 'pg';
import { badRow } from '../badrows/format';
import { BeltSandbox } from '../belts/sandbox';
import { DefinitionCache, type DefinitionsFeed } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import { DefinitionError } from '../shared/errors';
import { headersFor, identify, SNOWPLOW_EVENT_TYPE, type KeyedBadRow, type PipelineEvent, type TopicPayload } from '../events/expand';
import { parseEnrichedTsv } from '../snowplow/enriched-tsv';
import { transformSource, type Harvester } from './definition';
import { getHarvester, listHarvesters } from './store';

interface HarvestInput {
  key: string;
  offset: string;
  receivedAt: number;
  payload: unknown;
  headers: Record<string, string | number>;
}

export interface Harvested {
  events: PipelineEvent[];
  badRows: KeyedBadRow[];
}

/**
 * Runs the running harvesters of a project over a batch: collector harvesters over its Snowplow
 * events, Kafka harvesters over the records of their topic. What a transform keeps becomes an
 * event of the harvester's event type, identified by that type's expressions.
 */
export class Harvesting {
  private sandboxes = new Map<string, Promise<BeltSandbox>>();
  private readonly cache: DefinitionCache<Harvester>;

  /** `feed` keeps the harvesters current: one started, stopped or changed through the API runs so at once. */
  constructor(pool: Pool, feed: DefinitionsFeed | undefined) {
    this.cache = new DefinitionCache<Harvester>(
      { kind: 'harvester', all: (project) => listHarvesters(pool, project), one: (project, name) => getHarvester(pool, project, name), nameOf: (h) => h.name },
      feed,
    );
  }

  private async harvesters(project: string): Promise<Harvester[]> {
    return [...(await this.cache.all(project)).values()].filter((h) => h.running);
  }

  private sandbox(h: Harvester): Promise<BeltSandbox> {
    const key = `${h.name}:${crypto.createHash('sha256').update(h.script).digest('hex')}`;
    let sb = this.sandboxes.get(key);
    if (!sb) {
      sb = BeltSandbox.create(transformSource(h.script), `harvester-${h.name}.js`, undefined, 'transform');
      sb.catch(() => this.sandboxes.delete(key));
      this.sandboxes.set(key, sb);
    }
    return sb;
  }

  async harvest(
    project: string,
    batch: { topic: string; partition: number },
    snowplowEvents: PipelineEvent[],
    topicPayloads: TopicPayload[],
    types: ReadonlyMap<string, EventType>,
  ): Promise<Harvested> {
    const out: Harvested = { events: [], badRows: [] };
    for (const h of await this.harvesters(project)) {
      const inputs: HarvestInput[] = [];
      if (h.source.kind === 'collector') {
        for (const e of snowplowEvents) {
          if (e.eventType === SNOWPLOW_EVENT_TYPE) inputs.push({ key: `event:${e.eventId}`, offset: String(e.headers['kafka-offset']), receivedAt: e.created, payload: e.payload, headers: e.headers });
        }
      } else if (h.source.topic === batch.topic) {
        for (const p of topicPayloads) {
          const headers = { 'kafka-topic': batch.topic, 'kafka-partition': batch.partition, 'kafka-offset': p.offset };
          if (h.source.kind === 'kafka') {
            inputs.push({ key: p.key, offset: p.offset, receivedAt: p.receivedAt, payload: p.payload, headers });
            continue;
          }
          // An enriched TSV line is read before the transform sees it; one that does not read is a
          // bad row with the line whole, as Snowplow's loaders keep theirs.
          const parsed = parseEnrichedTsv(p.value);
          if (parsed.ok) inputs.push({ key: p.key, offset: p.offset, receivedAt: p.receivedAt, payload: parsed.event, headers });
          else out.badRows.push({ key: `${p.key}:harvester:${h.name}`, row: badRow('loader_parsing_error', { ...parsed.failure }, p.value) });
        }
      }
      if (inputs.length === 0) continue;
      const type = types.get(h.eventType);
      const failure = (input: HarvestInput, field: string, error: string): KeyedBadRow => ({
        key: `${input.key}:harvester:${h.name}`,
        row: badRow('adapter_failures', { vendor: `beltline.harvester.${h.name}`, version: '1', messages: [{ field, error }] }, input.payload),
      });
      if (!type) {
        out.badRows.push(...inputs.map((i) => failure(i, 'eventType', `the harvester's event type ${JSON.stringify(h.eventType)} does not exist`)));
        continue;
      }
      let results;
      try {
        results = await (await this.sandbox(h)).runBatch(inputs.map((i) => ({ eventId: i.key, headers: i.headers, payload: i.payload, profile: null })));
      } catch (err) {
        out.badRows.push(...inputs.map((i) => failure(i, 'transform.script', (err as Error).message)));
        continue;
      }
      results.forEach((r, n) => {
        const input = inputs[n];
        if (r.error) {
          out.badRows.push(failure(input, 'transform.script', r.error.message));
          return;
        }
        r.outputs.forEach((payload, j) => {
          try {
            const id = identify(type, payload, { seed: `${input.key}:h:${h.name}:${j}`, receivedAt: input.receivedAt });
            const e = { ...id, eventType: type.name, payload };
            out.events.push({ ...e, headers: headersFor(e, batch.topic, batch.partition, input.offset) });
          } catch (err) {
            if (!(err instanceof DefinitionError)) throw err;
            out.badRows.push(failure(input, err.field, err.message));
          }
        });
      });
    }
    return out;
  }
}
