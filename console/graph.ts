/**
 * The pipeline graph's model and layout, pure: from a project's definitions (and its stats) to
 * nodes in columns — sources → harvesters → event types → belts → live segments and actions — and
 * the edges between them, with positions and SVG paths. The page only draws what this returns.
 */

export interface EventTypeDef {
  name: string;
  displayName?: string;
  type: string;
}

export interface HarvesterDef {
  name: string;
  displayName?: string;
  source: { kind: 'collector' | 'kafka' | 'snowplow-enriched'; topic?: string };
  eventType: string;
  running: boolean;
}

export interface BeltDef {
  name: string;
  running: boolean;
  definition: { eventTypes: string[]; outputTypes: { name: string }[]; extractorFn: string };
}

export interface ActionDef {
  name: string;
}

export interface SeriesFig {
  name: string;
  total: number;
}

/** What the graph reads of `GET /projects/:project/stats`. */
export interface GraphStats {
  windowMinutes: number;
  sources: SeriesFig[];
  eventTypes: SeriesFig[];
  belts: { name: string; runs: SeriesFig; errors: SeriesFig }[];
  actions: { name: string; sent: number; failed: number; pending: number; belts: string[] }[];
  segments: { name: string; rows: number; deadLetters: number }[];
}

export type NodeKind = 'source' | 'harvester' | 'eventType' | 'belt' | 'segment' | 'action';

export interface GraphNode {
  /** `<kind>:<name>`; the page marks each node's element with it (data-node). */
  id: string;
  kind: NodeKind;
  name: string;
  label: string;
  column: number;
  /** Belts and harvesters: whether they run (they can be started and stopped from the graph). */
  state?: 'running' | 'stopped';
  /** What passed through it in the stats window, e.g. "12 events / 10 min"; absent without stats. */
  throughput?: string;
  /** Failures the API counts for it (belt errors, segment dead letters, failed deliveries). */
  errors?: number;
  x: number;
  y: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  path: string;
  /** It passes other columns (e.g. the collector straight to an event type): drawn lighter, as it may run under their nodes. */
  long: boolean;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const COLUMNS = ['Sources', 'Harvesters', 'Event types', 'Belts', 'Segments, actions'] as const;
export const NODE_W = 180;
export const NODE_H = 78;
export const COL_GAP = 56;
const ROW_GAP = 16;
/** Room above the first row for the column titles. */
export const HEAD = 28;

/** The actions a belt's code names in `Action('name', …)` calls (a name given as a literal). */
export function actionsNamed(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/\bAction\s*\(\s*(['"`])([^'"`]+)\1/g)) out.add(m[2]);
  return [...out].sort();
}

/** "1 record / 10 min", "3 records read / 10 min": the unit's first word is the plural one. */
function figure(n: number, unit: string, window: number): string {
  const [noun, ...rest] = unit.split(' ');
  const word = n === 1 && noun.endsWith('s') && noun !== 'sent' ? noun.slice(0, -1) : noun;
  return `${n} ${[word, ...rest].join(' ')} / ${window} min`;
}

export interface PipelineInput {
  eventTypes: EventTypeDef[];
  harvesters: HarvesterDef[];
  belts: BeltDef[];
  actions: ActionDef[];
  stats?: GraphStats;
}

/** Nodes and edges, not yet placed. */
export function pipelineModel(input: PipelineInput): { nodes: Omit<GraphNode, 'x' | 'y'>[]; edges: { from: string; to: string }[] } {
  const { stats } = input;
  const w = stats?.windowMinutes ?? 0;
  const nodes = new Map<string, Omit<GraphNode, 'x' | 'y'>>();
  const edges = new Map<string, { from: string; to: string }>();
  const add = (n: Omit<GraphNode, 'x' | 'y'>): void => {
    if (!nodes.has(n.id)) nodes.set(n.id, n);
  };
  const link = (from: string, to: string): void => {
    if (nodes.has(from) && nodes.has(to)) edges.set(`${from}→${to}`, { from, to });
  };
  const total = (list: SeriesFig[] | undefined, name: string): number => list?.find((s) => s.name === name)?.total ?? 0;

  // A topic read as a Snowplow pipeline's enriched TSV is labelled so; any other read topic is Kafka's.
  const topicOf = (h: HarvesterDef): string | undefined => (h.source.kind !== 'collector' && h.source.topic ? h.source.topic : undefined);
  const enrichedTopics = new Set(input.harvesters.flatMap((h) => (h.source.kind === 'snowplow-enriched' && h.source.topic ? [h.source.topic] : [])));
  const kafkaTopics = [...new Set(input.harvesters.flatMap((h) => topicOf(h) ?? []))].sort();
  // The collector's records are those of the project's own (raw) topic: every staged topic no harvester reads.
  const collected = (stats?.sources ?? []).filter((s) => !kafkaTopics.includes(s.name)).reduce((sum, s) => sum + s.total, 0);
  add({ id: 'source:collector', kind: 'source', name: 'collector', label: 'Collector', column: 0, ...(stats ? { throughput: figure(collected, 'records', w) } : {}) });
  for (const t of kafkaTopics) add({ id: `source:${t}`, kind: 'source', name: t, label: `${enrichedTopics.has(t) ? 'Snowplow enriched' : 'Kafka'}: ${t}`, column: 0, ...(stats ? { throughput: figure(total(stats.sources, t), 'records', w) } : {}) });

  const segments = new Set(input.eventTypes.filter((t) => t.type === 'live_segment').map((t) => t.name));
  for (const h of [...input.harvesters].sort((a, b) => a.name.localeCompare(b.name))) {
    const from = topicOf(h) ?? 'collector';
    add({
      id: `harvester:${h.name}`,
      kind: 'harvester',
      name: h.name,
      label: h.displayName || h.name,
      column: 1,
      state: h.running ? 'running' : 'stopped',
      ...(stats && from !== 'collector' ? { throughput: figure(total(stats.sources, from), 'read', w) } : {}),
    });
  }
  const segmentFig = (name: string) => stats?.segments.find((s) => s.name === name);
  for (const t of [...input.eventTypes].sort((a, b) => a.name.localeCompare(b.name))) {
    if (segments.has(t.name)) {
      const f = segmentFig(t.name);
      add({ id: `segment:${t.name}`, kind: 'segment', name: t.name, label: t.displayName || t.name, column: 4, ...(f ? { throughput: `${f.rows} ${f.rows === 1 ? 'row' : 'rows'}`, errors: f.deadLetters } : {}) });
    } else {
      add({ id: `eventType:${t.name}`, kind: 'eventType', name: t.name, label: t.displayName || t.name, column: 2, ...(stats ? { throughput: figure(total(stats.eventTypes, t.name), 'events', w) } : {}) });
    }
  }
  for (const b of [...input.belts].sort((a, c) => a.name.localeCompare(c.name))) {
    const f = stats?.belts.find((s) => s.name === b.name);
    add({
      id: `belt:${b.name}`,
      kind: 'belt',
      name: b.name,
      label: b.name,
      column: 3,
      state: b.running ? 'running' : 'stopped',
      ...(stats ? { throughput: figure(f?.runs.total ?? 0, 'runs', w), errors: f?.errors.total ?? 0 } : {}),
    });
  }
  for (const a of [...input.actions].sort((x, y) => x.name.localeCompare(y.name))) {
    const f = stats?.actions.find((s) => s.name === a.name);
    add({ id: `action:${a.name}`, kind: 'action', name: a.name, label: a.name, column: 4, ...(stats ? { throughput: figure(f?.sent ?? 0, 'sent', w), errors: f?.failed ?? 0 } : {}) });
  }

  // A type's node: live segments sit with the outputs, other types in their column.
  const typeNode = (name: string): string => (segments.has(name) ? `segment:${name}` : `eventType:${name}`);
  for (const h of input.harvesters) {
    const topic = topicOf(h);
    link(topic ? `source:${topic}` : 'source:collector', `harvester:${h.name}`);
    link(`harvester:${h.name}`, typeNode(h.eventType));
  }
  // The collector takes events of every type straight too (JSON events, tracker events).
  for (const t of input.eventTypes) if (t.type === 'data_in' || t.name === 'snowplow') link('source:collector', typeNode(t.name));
  for (const b of input.belts) {
    for (const t of b.definition.eventTypes) link(typeNode(t), `belt:${b.name}`);
    for (const o of b.definition.outputTypes) link(`belt:${b.name}`, typeNode(o.name));
    for (const a of actionsNamed(b.definition.extractorFn)) link(`belt:${b.name}`, `action:${a}`);
  }
  // Deliveries show which belt asked for an action even when its code names it indirectly.
  for (const a of stats?.actions ?? []) for (const b of a.belts) link(`belt:${b}`, `action:${a.name}`);
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** A curve from a node's right side to another's left; back to an earlier column, from left to right, below. */
export function edgePath(from: { x: number; y: number }, to: { x: number; y: number }): string {
  const fy = from.y + NODE_H / 2;
  const ty = to.y + NODE_H / 2;
  if (to.x > from.x) {
    const x1 = from.x + NODE_W;
    const x2 = to.x;
    const bend = (x2 - x1) / 2;
    return `M${x1},${fy} C${x1 + bend},${fy} ${x2 - bend},${ty} ${x2},${ty}`;
  }
  const x1 = from.x;
  const x2 = to.x + NODE_W;
  return `M${x1},${fy} C${x1 - COL_GAP},${fy + NODE_H} ${x2 + COL_GAP},${ty + NODE_H} ${x2},${ty}`;
}

/** Places the model: one column per stage, nodes top-down in the model's order. */
export function layout(model: ReturnType<typeof pipelineModel>): Graph {
  const rows = COLUMNS.map(() => 0);
  const nodes: GraphNode[] = model.nodes.map((n) => {
    const row = rows[n.column]++;
    return { ...n, x: n.column * (NODE_W + COL_GAP), y: HEAD + row * (NODE_H + ROW_GAP) };
  });
  const at = new Map(nodes.map((n) => [n.id, n]));
  const edges = model.edges.map((e) => {
    const [from, to] = [at.get(e.from) as GraphNode, at.get(e.to) as GraphNode];
    return { ...e, path: edgePath(from, to), long: Math.abs(to.column - from.column) > 1 };
  });
  const tallest = Math.max(1, ...rows);
  return { nodes, edges, width: COLUMNS.length * NODE_W + (COLUMNS.length - 1) * COL_GAP, height: HEAD + tallest * (NODE_H + ROW_GAP) + NODE_H / 2 };
}

export function pipelineGraph(input: PipelineInput): Graph {
  return layout(pipelineModel(input));
}
