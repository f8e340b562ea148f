import { api, projectPath } from '../api';
import { ErrorBox, Section, StateBadge } from '../components/ui';
import { COL_GAP, COLUMNS, HEAD, NODE_H, NODE_W, pipelineGraph, type ActionDef, type BeltDef, type EventTypeDef, type GraphNode, type GraphStats, type HarvesterDef } from '../graph';
import { useAction, useLoad } from '../hooks';
import type { PageProps } from './index';

/** How often the figures (and the definitions, which other users may change) are read again. */
const POLL_MS = 5000;

interface Definitions {
  eventTypes: EventTypeDef[];
  harvesters: HarvesterDef[];
  belts: BeltDef[];
  actions: ActionDef[];
}

function loadDefinitions(project: string): Promise<Definitions> {
  const get = <T,>(rest: string): Promise<T> => api<T>('GET', projectPath(rest, project));
  return Promise.all([get<EventTypeDef[]>('/event-types'), get<HarvesterDef[]>('/harvesters'), get<BeltDef[]>('/belts'), get<ActionDef[]>('/actions')]).then(
    ([eventTypes, harvesters, belts, actions]) => ({ eventTypes, harvesters, belts, actions }),
  );
}

const KIND_LABEL: Record<GraphNode['kind'], string> = { source: 'source', harvester: 'harvester', eventType: 'event type', belt: 'belt', segment: 'live segment', action: 'action' };

function Node({ node, busy, onToggle }: { node: GraphNode; busy: boolean; onToggle: (n: GraphNode) => void }) {
  return (
    <div class={`node node-${node.kind}`} data-node={node.id} style={{ left: `${node.x}px`, top: `${node.y}px`, width: `${NODE_W}px`, height: `${NODE_H}px` }}>
      <div class="node-head">
        <span class="node-kind">{KIND_LABEL[node.kind]}</span>
        {node.state && <StateBadge state={node.state} />}
      </div>
      <div class="node-name" title={node.name}>
        {node.label}
      </div>
      <div class="node-figs">
        {node.throughput !== undefined && <span class="throughput">{node.throughput}</span>}
        {node.errors !== undefined && node.errors > 0 && <span class="errors">{node.errors} errors</span>}
        {node.state && (
          <button type="button" class="secondary small" disabled={busy} onClick={() => onToggle(node)}>
            {node.state === 'running' ? 'Stop' : 'Start'}
          </button>
        )}
      </div>
    </div>
  );
}

/**
 * Issue 15's home page: the project's pipeline as a graph — sources → harvesters → event types →
 * belts → live segments and actions — with each node's state and figures over the last minutes;
 * belts and harvesters are started and stopped here.
 */
export function PipelinePage({ project }: PageProps) {
  const defs = useLoad(() => loadDefinitions(project), [project], POLL_MS);
  const stats = useLoad(() => api<GraphStats>('GET', projectPath('/stats', project)), [project], POLL_MS);
  const toggle = useAction();
  const onToggle = (n: GraphNode): void => {
    const what = n.kind === 'belt' ? 'belts' : 'harvesters';
    const verb = n.state === 'running' ? 'stop' : 'start';
    void toggle.run(() => api('POST', projectPath(`/${what}/${encodeURIComponent(n.name)}/${verb}`, project))).then((ok) => ok && defs.reload());
  };
  const graph = defs.data ? pipelineGraph({ ...defs.data, stats: stats.data }) : undefined;
  return (
    <div>
      <Section title="Pipeline" actions={stats.data && <span class="muted">figures of the last {stats.data.windowMinutes} minutes, every {POLL_MS / 1000} s</span>}>
        <ErrorBox error={defs.error} />
        <ErrorBox error={stats.error} />
        <ErrorBox error={toggle.error} />
        {defs.loading && !graph && <p class="muted">loading…</p>}
        {graph && (
          <div class="graph-wrap">
            <div class="graph" style={{ width: `${graph.width}px`, height: `${graph.height}px` }}>
              {COLUMNS.map((title, i) => (
                <div key={title} class="graph-col" style={{ left: `${i * (NODE_W + COL_GAP)}px`, width: `${NODE_W}px` }}>
                  <div style={{ height: `${HEAD}px` }}>{title}</div>
                  {!graph.nodes.some((n) => n.column === i) && <div class="muted">none</div>}
                </div>
              ))}
              <svg class="edges" width={graph.width} height={graph.height} viewBox={`0 0 ${graph.width} ${graph.height}`} aria-hidden="true">
                <defs>
                  <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M0,0 L10,5 L0,10 z" fill="#98a2b3" />
                  </marker>
                </defs>
                {graph.edges.map((e) => (
                  <path key={`${e.from}→${e.to}`} d={e.path} class={e.long ? 'long' : undefined} data-edge={`${e.from}→${e.to}`} marker-end="url(#arrow)" />
                ))}
              </svg>
              {graph.nodes.map((n) => (
                <Node key={n.id} node={n} busy={toggle.busy} onToggle={onToggle} />
              ))}
            </div>
          </div>
        )}
      </Section>
    </div>
  );
}
