import { plot, niceCeil } from '../../console/chart';
import { actionsNamed, edgePath, NODE_H, NODE_W, pipelineGraph, pipelineModel, type PipelineInput } from '../../console/graph';

const input: PipelineInput = {
  eventTypes: [
    { name: 'orders', type: 'data_in' },
    { name: 'clicks', type: 'data_in' },
    { name: 'vip', type: 'live_segment' },
    { name: 'enriched', type: 'data_in' },
  ],
  harvesters: [{ name: 'shop', source: { kind: 'kafka', topic: 'shop-orders' }, eventType: 'orders', running: false }],
  belts: [
    { name: 'enrich', running: true, definition: { eventTypes: ['orders'], outputTypes: [{ name: 'enriched' }, { name: 'vip' }], extractorFn: 'function execute(h, p) { Action("mail", {}); Action(\'mail\', {}); }' } },
  ],
  actions: [{ name: 'mail' }, { name: 'sms' }],
};

describe('console pipeline graph', () => {
  it('finds the actions a belt names', () => {
    expect(actionsNamed("Action('a', x); Action (\"b\"); Action(`c`); Action(name)")).toEqual(['a', 'b', 'c']);
  });

  it('puts each stage in its column and links definitions as they connect', () => {
    const { nodes, edges } = pipelineModel(input);
    const col = Object.fromEntries(nodes.map((n) => [n.id, n.column]));
    expect(col).toEqual({
      'source:collector': 0,
      'source:shop-orders': 0,
      'harvester:shop': 1,
      'eventType:clicks': 2,
      'eventType:enriched': 2,
      'eventType:orders': 2,
      'segment:vip': 4,
      'belt:enrich': 3,
      'action:mail': 4,
      'action:sms': 4,
    });
    expect(edges.map((e) => `${e.from} ${e.to}`).sort()).toEqual(
      [
        'source:shop-orders harvester:shop',
        'harvester:shop eventType:orders',
        'source:collector eventType:orders',
        'source:collector eventType:clicks',
        'source:collector eventType:enriched',
        'eventType:orders belt:enrich',
        'belt:enrich eventType:enriched',
        'belt:enrich segment:vip',
        'belt:enrich action:mail',
      ].sort(),
    );
    expect(nodes.find((n) => n.id === 'harvester:shop')?.state).toBe('stopped');
    expect(nodes.find((n) => n.id === 'belt:enrich')?.state).toBe('running');
    expect(nodes.find((n) => n.id === 'belt:enrich')?.throughput).toBeUndefined();
  });

  it('draws a harvester over a Snowplow pipeline\'s enriched TSV topic from that topic, labelled so', () => {
    const { nodes, edges } = pipelineModel({ ...input, harvesters: [...input.harvesters, { name: 'sp', source: { kind: 'snowplow-enriched', topic: 'snowplow_parsed_good' }, eventType: 'clicks', running: true }] });
    expect(nodes.find((n) => n.id === 'source:snowplow_parsed_good')).toMatchObject({ column: 0, label: 'Snowplow enriched: snowplow_parsed_good' });
    expect(nodes.find((n) => n.id === 'source:shop-orders')?.label).toBe('Kafka: shop-orders');
    expect(edges.map((e) => `${e.from} ${e.to}`)).toEqual(expect.arrayContaining(['source:snowplow_parsed_good harvester:sp', 'harvester:sp eventType:clicks']));
  });

  it('shows the stats window figures on the nodes', () => {
    const { nodes } = pipelineModel({
      ...input,
      stats: {
        windowMinutes: 10,
        sources: [{ name: 'raw.p', total: 5 }, { name: 'shop-orders', total: 3 }],
        eventTypes: [{ name: 'orders', total: 8 }],
        belts: [{ name: 'enrich', runs: { name: 'enrich', total: 8 }, errors: { name: 'enrich', total: 2 } }],
        actions: [{ name: 'sms', sent: 1, failed: 4, pending: 0, belts: ['enrich'] }],
        segments: [{ name: 'vip', rows: 7, deadLetters: 1 }],
      },
    });
    const by = (id: string) => nodes.find((n) => n.id === id);
    expect(by('source:collector')?.throughput).toBe('5 records / 10 min');
    expect(by('source:shop-orders')?.throughput).toBe('3 records / 10 min');
    expect(pipelineModel({ ...input, stats: { windowMinutes: 5, sources: [{ name: 'raw', total: 1 }], eventTypes: [], belts: [], actions: [], segments: [] } }).nodes[0].throughput).toBe('1 record / 5 min');
    expect(by('harvester:shop')?.throughput).toBe('3 read / 10 min');
    expect(by('eventType:orders')?.throughput).toBe('8 events / 10 min');
    expect(by('eventType:clicks')?.throughput).toBe('0 events / 10 min');
    expect(by('belt:enrich')).toMatchObject({ throughput: '8 runs / 10 min', errors: 2 });
    expect(by('segment:vip')).toMatchObject({ throughput: '7 rows', errors: 1 });
    expect(by('action:sms')).toMatchObject({ throughput: '1 sent / 10 min', errors: 4 });
  });

  it('lays columns out left to right, rows top-down, with edges between the nodes\' sides', () => {
    const g = pipelineGraph(input);
    const at = (id: string) => g.nodes.find((n) => n.id === id) as { x: number; y: number };
    expect(at('source:collector').x).toBeLessThan(at('harvester:shop').x);
    expect(at('source:shop-orders').y).toBeGreaterThan(at('source:collector').y);
    for (const n of g.nodes) {
      expect(n.x + NODE_W).toBeLessThanOrEqual(g.width);
      expect(n.y + NODE_H).toBeLessThanOrEqual(g.height);
    }
    expect(g.edges.filter((e) => e.long).map((e) => `${e.from} ${e.to}`).sort()).toEqual(['source:collector eventType:clicks', 'source:collector eventType:enriched', 'source:collector eventType:orders']);
    // Ids are unique, so the page can key on them.
    expect(new Set(g.nodes.map((n) => n.id)).size).toBe(g.nodes.length);
    const forward = edgePath({ x: 0, y: 0 }, { x: 300, y: 100 });
    expect(forward.startsWith(`M${NODE_W},${NODE_H / 2} `)).toBe(true);
    expect(forward.endsWith(` 300,${100 + NODE_H / 2}`)).toBe(true);
    const back = edgePath({ x: 300, y: 0 }, { x: 0, y: 100 });
    expect(back.startsWith(`M300,${NODE_H / 2} `)).toBe(true);
    expect(back.endsWith(` ${NODE_W},${100 + NODE_H / 2}`)).toBe(true);
  });
});

describe('console line chart', () => {
  it('rounds the scale up to 1, 2 or 5 × 10^n', () => {
    expect([0, 0.3, 1, 3, 7, 10, 11, 240].map(niceCeil)).toEqual([1, 0.5, 1, 5, 10, 10, 20, 500]);
  });

  it('spreads points across the width on one scale, breaking lines at gaps', () => {
    const p = plot(
      [
        { name: 'a', values: [0, 5, 10] },
        { name: 'b', values: [2, null, 4] },
      ],
      100,
      50,
    );
    expect(p.max).toBe(10);
    expect(p.ticks).toEqual([0, 5, 10]);
    expect(p.lines[0]).toMatchObject({ name: 'a', path: 'M0,50L50,25L100,0', last: 10 });
    expect(p.lines[1]).toEqual({ name: 'b', path: 'M0,40M100,30', points: [{ x: 0, y: 40 }, { x: 100, y: 30 }], last: 4 });
  });

  it('draws a lone point as a flat line, and nothing of an empty line', () => {
    const p = plot([{ name: 'a', values: [3] }, { name: 'b', values: [null] }], 100, 50);
    expect(p.lines[0].path).toBe('M0,20L100,20');
    expect(p.lines[1]).toEqual({ name: 'b', path: '', points: [], last: null });
  });
});
