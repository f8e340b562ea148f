import type { FunctionComponent } from 'preact';
import type { Route } from '../router';
import { OperationsPage } from './operations';
import { PipelinePage } from './pipeline';
import { ProjectsPage } from './projects';

export interface PageProps {
  route: Route;
  project: string;
  /** Whether the key opens the whole instance (projects can be listed, created, switched). */
  instance: boolean;
}

export interface Page {
  /** The first part of the hash: `#/<id>/…`. */
  id: string;
  title: string;
  component: FunctionComponent<PageProps>;
  /** Shown only to the instance key. */
  instanceOnly?: boolean;
}

/** The console's pages, in the order of the navigation; the first is the home page. */
export const pages: Page[] = [
  { id: 'pipeline', title: 'Pipeline', component: PipelinePage },
  { id: 'projects', title: 'Projects', component: ProjectsPage },
  { id: 'operations', title: 'Operations', component: OperationsPage },
];
