import type { Pool } from 'pg';
import { SCHEMAS_DIR } from '../schemas/dir';
import { SchemaRegistry } from '../schemas/registry';
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

  /** Creates the project with its schema and the Iglu schemas beltline ships (schemas/). */
  async create(p: { name: string; displayName: string; requireWriteKey?: boolean }): ReturnType<typeof createProject> {
    const made = await createProject(this.instance, p);
    if (made) await new SchemaRegistry(this.db(p.name)).seedFromDir(SCHEMAS_DIR);
    return made;
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

  /**
   * `make`'s object for a project (a cache, a registry), made once per project and forgotten
   * when the project is deleted.
   */
  perProject<T>(make: (project: string, db: Pool) => T): (project: string) => T {
    const made = new Map<string, T>();
    this.onDropped((project) => {
      made.delete(project);
    });
    return (project) => {
      let v = made.get(project);
      if (v === undefined) {
        v = make(project, this.db(project));
        made.set(project, v);
      }
      return v;
    };
  }

  onDropped(listener: ProjectDropped): () => void {
    this.droppedListeners.add(listener);
    return () => this.droppedListeners.delete(listener);
  }

  async end(): Promise<void> {
    await this.pools.end();
  }
}
