import type { Pool } from 'pg';
import { createProject, dropProject } from './lifecycle';
import type { KeyKind } from './keys';
import { DEFAULT_PROJECT } from './names';
import { ProjectPools } from './pools';
import { getProject, listProjects, projectOfKey, rotateKeys, type IssuedKeys, type Project } from './store';

/** Told when a project is deleted: what a process runs for it (belt workers, caches) stops. */
export type ProjectDropped = (project: string) => Promise<void> | void;

/**
 * The projects of this instance, for a process: the registry (in `instance`, any pool of the
 * database) and one pool per project. `db(project)` is how every piece of code reaches a
 * project's tables.
 */
export class Projects {
  readonly pools: ProjectPools;
  private readonly droppedListeners = new Set<ProjectDropped>();

  constructor(
    readonly instance: Pool,
    databaseUrl: string,
    poolMax = 10,
  ) {
    this.pools = new ProjectPools(databaseUrl, poolMax);
  }

  /** The pool whose queries reach `project`'s schema. The default project's is `instance`. */
  db(project: string): Pool {
    return project === DEFAULT_PROJECT ? this.instance : this.pools.get(project);
  }

  async exists(project: string): Promise<boolean> {
    if (project === DEFAULT_PROJECT) return true;
    return (await getProject(this.instance, project)) !== undefined;
  }

  get(project: string): Promise<Project | undefined> {
    return getProject(this.instance, project);
  }

  list(): Promise<Project[]> {
    return listProjects(this.instance);
  }

  create(p: { name: string; displayName: string; requireWriteKey?: boolean }): ReturnType<typeof createProject> {
    return createProject(this.instance, p);
  }

  /** Drops the project's schema, after telling what runs for it to stop. */
  async drop(project: string): Promise<boolean> {
    if (!(await this.exists(project))) return false;
    for (const l of this.droppedListeners) await l(project);
    await this.pools.drop(project);
    return dropProject(this.instance, project);
  }

  rotate(project: string, kinds: readonly KeyKind[]): Promise<IssuedKeys | undefined> {
    return rotateKeys(this.instance, project, kinds);
  }

  /** The project a key belongs to, or undefined. */
  projectOfKey(key: string, kind: KeyKind): Promise<string | undefined> {
    return projectOfKey(this.instance, key, kind);
  }

  onDropped(listener: ProjectDropped): () => void {
    this.droppedListeners.add(listener);
    return () => this.droppedListeners.delete(listener);
  }

  async end(): Promise<void> {
    await this.pools.end();
  }
}
