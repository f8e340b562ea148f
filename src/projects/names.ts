/**
 * Project names, and the names of what a project owns (its PostgreSQL schema, its Kafka topics).
 * Pure: the one place that knows how a project's name becomes an identifier elsewhere.
 */

/** The project every server has, created by the first start; its tables are the `beltline` schema. */
export const DEFAULT_PROJECT = 'default';

/** The schema the default project has always used, kept so that existing data stays where it is. */
export const DEFAULT_SCHEMA = 'beltline';

/** The instance's own tables (the project registry), apart from every project's. */
export const INSTANCE_SCHEMA = 'beltline__instance';

export const PROJECT_NAME_RULE = 'a project name is 1 to 40 characters: lowercase letters, digits, "-" and "_", starting with a letter';
export const PROJECT_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,39}$';
const NAME = new RegExp(PROJECT_NAME_PATTERN);

/** Why `name` cannot name a project, or undefined when it can. */
export function projectNameProblem(name: string): string | undefined {
  return NAME.test(name) ? undefined : PROJECT_NAME_RULE;
}

/** The PostgreSQL schema holding a project's tables: `beltline_<name>` (`beltline` for default). */
export function projectSchema(project: string): string {
  return project === DEFAULT_PROJECT ? DEFAULT_SCHEMA : `beltline_${project}`;
}

/**
 * The NOLOGIN role the SQL console reads a project's schema as (migrations/018_sql_console.sql
 * makes it, named the same way): roles are the cluster's, so the name is the schema's.
 */
export function projectReaderRole(project: string): string {
  return `${projectSchema(project)}_reader`;
}

/**
 * A project's Kafka topic for a base topic name (raw, bad, profile-updates, …): the default
 * project keeps the base names, so existing deployments and consumers are unchanged; another
 * project's is `<base>.<project>` (`.` cannot appear in a project name, so none collide).
 */
export function projectTopic(base: string, project: string): string {
  return project === DEFAULT_PROJECT ? base : `${base}.${project}`;
}

/** The project a topic of `base` belongs to, or undefined when it is not one of base's. */
export function topicProject(base: string, topic: string): string | undefined {
  if (topic === base) return DEFAULT_PROJECT;
  if (!topic.startsWith(`${base}.`)) return undefined;
  const project = topic.slice(base.length + 1);
  return projectNameProblem(project) === undefined ? project : undefined;
}

/**
 * An identifier (a workflow id, a task queue) made a project's own: the default project's stay
 * as they always were (running and failed workflows keep their ids), another project's end in
 * `@<project>`. `@` appears in no topic, belt or project name, so no project's id is another's.
 */
export function projectScoped(id: string, project: string | undefined): string {
  return project === undefined || project === DEFAULT_PROJECT ? id : `${id}@${project}`;
}
