/**
 * The projects a collector takes events for, and their event types, held in memory: an accepted
 * request never waits on PostgreSQL, and the collector keeps taking events of known projects and
 * types while PostgreSQL is down. The registry is reloaded when the definitions feed says a
 * project changed (kind `project`) and every PROJECTS_RELOAD_MS in case a notification was missed.
 */
import type { Pool } from 'pg';
import { DefinitionCache, DefinitionsUnavailableError, type DefinitionEvents } from '../db/definitions-feed';
import type { EventType } from '../eventtypes/definition';
import { getEventType, listEventTypes } from '../eventtypes/store';
import { HttpError } from '../http/app';
import { getProjectAccess, listProjectAccess, type ProjectAccess } from '../projects/store';
import { projectNameProblem } from '../projects/names';
import { writeKeyRefusal, WRITE_KEY_PARAM } from './write-key';

/** How often the registry is read again whatever the feed says (a missed notification heals by then). */
export const PROJECTS_RELOAD_MS = 30_000;

// The registry is one list for the whole instance: the cache holds it under one key.
const REGISTRY = '';

/** A 400 naming the rule when `project` cannot be a project's name (checked before anything is looked up). */
export function assertProjectName(project: string): void {
  const problem = projectNameProblem(project);
  if (problem) throw new HttpError(400, 'bad_request', `${JSON.stringify(project.slice(0, 60))} is not a project name: ${problem}`);
}

export class CollectorProjects {
  private readonly registry: DefinitionCache<ProjectAccess>;
  private readonly timer: NodeJS.Timeout;

  constructor(
    instance: Pool,
    /** The pool whose queries reach a project's schema (Projects.db). */
    db: (project: string) => Pool,
    feed: DefinitionEvents | undefined,
    opts: { reloadMs?: number } = {},
  ) {
    this.registry = new DefinitionCache<ProjectAccess>(
      { kind: 'project', all: () => listProjectAccess(instance), one: (_, name) => getProjectAccess(instance, name), nameOf: (p) => p.name },
      feed,
      { serveStale: true },
    );
    this.eventTypes = new DefinitionCache<EventType>(
      { kind: 'event_type', all: (p) => listEventTypes(db(p), p), one: (p, name) => getEventType(db(p), p, name), nameOf: (t) => t.name },
      feed,
      { serveStale: true },
    );
    this.timer = setInterval(() => {
      this.registry.invalidate();
      // Reloaded now rather than on the next request, which then need not wait for it.
      this.registry.all(REGISTRY).catch(() => undefined);
    }, opts.reloadMs ?? PROJECTS_RELOAD_MS);
    this.timer.unref();
  }

  /** Each project's event types, read from the project's own schema. */
  readonly eventTypes: DefinitionCache<EventType>;

  /** Loads the registry and every project's event types: held before the first request, for when PostgreSQL goes away. */
  async preload(): Promise<void> {
    const all = await this.registry.all(REGISTRY);
    for (const name of all.keys()) await this.eventTypes.all(name);
  }

  /**
   * Lets a request write to `project` with `key`, or throws its answer: 400 for a name that breaks
   * the rule, 404 for an unknown project, 401 without the write key a project requires, 403 with
   * another key. Accepted requests are decided from memory; a refusal is checked against
   * PostgreSQL first (a project created or a key rotated a moment ago, its notification not heard
   * yet, is taken), and, while PostgreSQL is unreachable, decided by what is held.
   */
  async admit(project: string, key: string | undefined): Promise<void> {
    assertProjectName(project);
    let access: ProjectAccess | undefined;
    try {
      access = await this.registry.get(REGISTRY, project, (p) => writeKeyRefusal(p, key) === undefined);
    } catch (err) {
      if (!(err instanceof DefinitionsUnavailableError)) throw err;
      access = (await this.registry.all(REGISTRY).catch(() => undefined))?.get(project);
      if (!access) throw new HttpError(503, 'unavailable', `project ${JSON.stringify(project)} cannot be looked up now (database unavailable); retry later`);
    }
    if (!access) throw new HttpError(404, 'not_found', `unknown project ${JSON.stringify(project)}`);
    const refusal = writeKeyRefusal(access, key);
    if (refusal === 'missing') {
      throw new HttpError(401, 'unauthorized', `project ${JSON.stringify(project)} takes events only with its write key: send Authorization: Bearer <writeKey>, or ?${WRITE_KEY_PARAM}=<writeKey>`);
    }
    if (refusal === 'wrong') throw new HttpError(403, 'forbidden', `the write key is not valid for project ${JSON.stringify(project)}`);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
