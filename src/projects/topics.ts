import type { Admin } from 'kafkajs';
import type { Config } from '../config';
import { DEFAULT_PROJECT, projectTopic } from './names';

/** The configuration keys that name a Kafka topic of a project's own. */
type TopicKeys = 'BELTLINE_RAW_TOPIC' | 'BELTLINE_BAD_TOPIC' | 'BELTLINE_PROFILE_UPDATES_TOPIC' | 'BELTLINE_RECOVERY_FAILED_TOPIC' | 'BELTLINE_ENRICHED_TOPIC' | 'BELTLINE_ENRICHED_TSV_TOPIC';

/**
 * The configuration as a project's pipeline code sees it: every topic it reads or writes is the
 * project's (`projectTopic`), the rest (task queue, limits, intervals) the instance's. Code that
 * took the configuration before projects existed works for any project, unchanged. Pure.
 */
export function projectConfig<C extends Pick<Config, TopicKeys>>(cfg: C, project: string): C {
  if (project === DEFAULT_PROJECT) return cfg;
  return {
    ...cfg,
    BELTLINE_RAW_TOPIC: projectTopic(cfg.BELTLINE_RAW_TOPIC, project),
    BELTLINE_BAD_TOPIC: projectTopic(cfg.BELTLINE_BAD_TOPIC, project),
    BELTLINE_PROFILE_UPDATES_TOPIC: projectTopic(cfg.BELTLINE_PROFILE_UPDATES_TOPIC, project),
    BELTLINE_RECOVERY_FAILED_TOPIC: projectTopic(cfg.BELTLINE_RECOVERY_FAILED_TOPIC, project),
    BELTLINE_ENRICHED_TOPIC: projectTopic(cfg.BELTLINE_ENRICHED_TOPIC, project),
    BELTLINE_ENRICHED_TSV_TOPIC: cfg.BELTLINE_ENRICHED_TSV_TOPIC === undefined ? undefined : projectTopic(cfg.BELTLINE_ENRICHED_TSV_TOPIC, project),
  };
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

/**
 * The topics beltline writes and reads for one configuration (a project's, through projectConfig):
 * raw and the enriched ones keyed by user with BELTLINE_RAW_PARTITIONS partitions, so their
 * consumers scale as far; bad rows and profile updates with one. `stack up` and a new project make
 * these. Pure.
 */
export function beltlineTopics(
  cfg: Pick<Config, 'BELTLINE_RAW_TOPIC' | 'BELTLINE_RAW_PARTITIONS' | 'BELTLINE_BAD_TOPIC' | 'BELTLINE_PROFILE_UPDATES_TOPIC' | 'BELTLINE_ENRICHED_TOPIC' | 'BELTLINE_ENRICHED' | 'BELTLINE_ENRICHED_TSV_TOPIC'>,
): TopicSpec[] {
  return [
    { topic: cfg.BELTLINE_RAW_TOPIC, numPartitions: cfg.BELTLINE_RAW_PARTITIONS },
    { topic: cfg.BELTLINE_BAD_TOPIC, numPartitions: 1 },
    { topic: cfg.BELTLINE_PROFILE_UPDATES_TOPIC, numPartitions: 1 },
    ...(cfg.BELTLINE_ENRICHED ? [{ topic: cfg.BELTLINE_ENRICHED_TOPIC, numPartitions: cfg.BELTLINE_RAW_PARTITIONS }] : []),
    ...(cfg.BELTLINE_ENRICHED_TSV_TOPIC === undefined ? [] : [{ topic: cfg.BELTLINE_ENRICHED_TSV_TOPIC, numPartitions: cfg.BELTLINE_RAW_PARTITIONS }]),
  ];
}

/**
 * Creates a project's topics (raw and enriched with BELTLINE_RAW_PARTITIONS partitions, bad rows,
 * profile updates) when missing, as `stack up` does the default project's: the broker does not create
 * topics on first write, and the bridge can subscribe to a new project's raw topic only once it
 * exists. Idempotent (a topic another process created first is left as it is). Returns those made.
 */
export async function ensureProjectTopics(admin: Admin, cfg: Config, project: string): Promise<string[]> {
  const wanted = beltlineTopics(projectConfig(cfg, project));
  const names = new Set(await admin.listTopics());
  const create = wanted.filter((t) => !names.has(t.topic));
  if (create.length === 0) return [];
  await admin.createTopics({ topics: create.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
  return create.map((t) => t.topic);
}
