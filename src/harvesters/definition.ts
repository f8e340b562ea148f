import { technicalName } from '../eventtypes/definition';
import { DefinitionError } from '../shared/errors';
import { isObject } from '../shared/json';

/**
 * A harvester (seed 001): a source, a transform that filters or maps, a target event type. The
 * transform is untrusted JavaScript run in the belt sandbox: `function transform(event, headers)`
 * returning the event to keep (as is or mapped), a list, or null to drop it. A script without a
 * `transform` function is taken as that function's body, like the seed's script.
 */
export interface Harvester {
  name: string;
  displayName: string;
  /**
   * `kafka`: JSON (or text) records of a topic; `snowplow-enriched`: an existing Snowplow
   * pipeline's enriched TSV topic, each record read into Analytics SDK JSON before the transform.
   */
  source: { kind: 'collector' } | { kind: 'kafka' | 'snowplow-enriched'; topic: string };
  script: string;
  eventType: string;
  running: boolean;
}


const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** The Kafka topic a harvester reads, if it reads one (the bridge subscribes to it). */
export function sourceTopic(h: Pick<Harvester, 'source'>): string | undefined {
  return h.source.kind === 'collector' ? undefined : h.source.topic;
}

/** The script as the sandbox runs it: a `transform` function, wrapping a bare body when needed. */
export function transformSource(script: string): string {
  return /\bfunction\s+transform\s*\(/.test(script) ? script : `function transform(event, headers) {\n${script}\n}`;
}

/** Validates the API body (seed 001's shape: displayName, sourceType, transform, eventType). */
export function parseHarvesterBody(body: unknown, fixedName?: string): Harvester {
  if (!isObject(body)) throw new DefinitionError('body', 'must be a JSON object');
  const displayName = body.displayName ?? body.name;
  if (typeof displayName !== 'string' || displayName.trim() === '') throw new DefinitionError('displayName', 'is required');
  const name = fixedName ?? (typeof body.name === 'string' && body.name !== '' ? body.name : technicalName(displayName));
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) throw new DefinitionError('name', `must be lower-case letters, digits, _ or -; got ${JSON.stringify(name)}`);

  const sourceType = body.sourceType ?? { name: 'collector' };
  if (!isObject(sourceType) || typeof sourceType.name !== 'string') {
    throw new DefinitionError('sourceType', 'must be {name: "collector"}, {name: "kafka", topic} or {name: "snowplow-enriched", topic}');
  }
  let source: Harvester['source'];
  if (sourceType.name === 'collector') source = { kind: 'collector' };
  else if (sourceType.name === 'kafka' || sourceType.name === 'snowplow-enriched') {
    if (typeof sourceType.topic !== 'string' || !TOPIC.test(sourceType.topic)) throw new DefinitionError('sourceType.topic', 'must name a Kafka topic');
    source = { kind: sourceType.name, topic: sourceType.topic };
  } else throw new DefinitionError('sourceType.name', `must be "collector", "kafka" or "snowplow-enriched", got ${JSON.stringify(sourceType.name)}`);

  const transform = body.transform;
  const script = isObject(transform) ? transform.script : transform;
  if (typeof script !== 'string' || script.trim() === '') throw new DefinitionError('transform.script', 'is required: JavaScript, e.g. function transform(event) { return event; }');
  if (isObject(transform) && transform.language !== undefined && transform.language !== 'javascript') {
    throw new DefinitionError('transform.language', `only "javascript" is supported, got ${JSON.stringify(transform.language)}`);
  }
  const eventType = isObject(body.eventType) ? body.eventType.name : body.eventType;
  if (typeof eventType !== 'string' || eventType === '') throw new DefinitionError('eventType.name', 'is required');
  const running = body.running === undefined ? true : body.running;
  if (typeof running !== 'boolean') throw new DefinitionError('running', 'must be true or false');
  return { name, displayName: displayName.trim(), source, script, eventType, running };
}
