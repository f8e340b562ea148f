import type { FunctionComponent } from 'preact';
import type { Route } from '../router';
import { BeltsPage } from './belts';
import { BadRowsPage } from './bad-rows';
import { ProfilesPage } from './profiles';
import { EventTypesPage } from './event-types';
import { HarvestersPage } from './harvesters';
import { OperationsPage } from './operations';
import { PipelinePage } from './pipeline';
import { ProjectsPage } from './projects';
import { SegmentsPage } from './segments';
import { SqlPage } from './sql';

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
  { id: 'event-types', title: 'Event types', component: EventTypesPage },
  { id: 'harvesters', title: 'Harvesters', component: HarvestersPage },
  { id: 'belts', title: 'Belts', component: BeltsPage },
  { id: 'profiles', title: 'Profiles', component: ProfilesPage },
  { id: 'segments', title: 'Live segments', component: SegmentsPage },
  { id: 'sql', title: 'SQL', component: SqlPage },
  { id: 'bad-rows', title: 'Bad rows', component: BadRowsPage },
  { id: 'operations', title: 'Operations', component: OperationsPage },
  { id: 'projects', title: 'Projects', component: ProjectsPage },
];
