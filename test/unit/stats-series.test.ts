import { actionFigures, batchSeries, beltSeries, lagByTopic, minuteStarts, seriesByKey } from '../../src/stats/series';
import { temporalUiBase as temporalUiUrl } from '../../src/temporal/ui';

const now = new Date('2026-12-02T10:05:30Z');
const starts = minuteStarts(now, 3);
const at = (hhmm: string): Date => new Date(`2026-12-02T${hhmm}Z`);

describe('stats series', () => {
  it('windows the last minutes, the current one last', () => {
    expect(starts.map((d) => d.toISOString())).toEqual(['2026-12-02T10:03:00.000Z', '2026-12-02T10:04:00.000Z', '2026-12-02T10:05:00.000Z']);
  });

  it('aligns counts per key on the minutes, dropping those outside the window', () => {
    const rows = [
      { key: 'page', minute: at('10:05:00'), n: 4 },
      { key: 'page', minute: at('10:03:00'), n: 1 },
      { key: 'page', minute: at('10:03:00'), n: 2 },
      { key: 'click', minute: at('10:04:00'), n: 7 },
      { key: 'click', minute: at('10:02:00'), n: 100 },
      { key: 'click', minute: at('10:06:00'), n: 100 },
    ];
    expect(seriesByKey(rows, starts)).toEqual([
      { name: 'click', values: [0, 7, 0], total: 7 },
      { name: 'page', values: [3, 0, 4], total: 7 },
    ]);
  });

  it('sums batches over topics, latency weighted by the done batches, none when nothing is done', () => {
    const b = batchSeries(
      [
        { minute: at('10:04:00'), batches: 2, records: 20, done: 1, latencyMs: 100 },
        { minute: at('10:04:00'), batches: 4, records: 5, done: 3, latencyMs: 300 },
        { minute: at('10:05:00'), batches: 1, records: 1, done: 0, latencyMs: null },
      ],
      starts,
      2,
    );
    expect(b).toEqual({ batches: [0, 6, 1], records: [0, 25, 1], done: [0, 4, 0], latencyMs: [null, 250, null], notDone: 2 });
  });

  it('gives every belt figures, idle ones zeros', () => {
    const belts = beltSeries([{ belt: 'b', minute: at('10:05:00'), runs: 3, errors: 1 }], starts, ['a', 'b']);
    expect(belts).toEqual([
      { name: 'a', runs: { name: 'a', values: [0, 0, 0], total: 0 }, errors: { name: 'a', values: [0, 0, 0], total: 0 } },
      { name: 'b', runs: { name: 'b', values: [0, 0, 3], total: 3 }, errors: { name: 'b', values: [0, 0, 1], total: 1 } },
    ]);
  });

  it('counts action deliveries by state, with the belts that asked for them', () => {
    expect(
      actionFigures([
        { action: 'mail', belt: 'y', state: 'sent', n: 2 },
        { action: 'mail', belt: 'x', state: 'failed', n: 1 },
        { action: 'mail', belt: 'y', state: 'pending', n: 4 },
      ]),
    ).toEqual([{ name: 'mail', sent: 2, failed: 1, pending: 4, belts: ['x', 'y'] }]);
  });

  it('sums lag per topic', () => {
    const p = (topic: string, partition: number, lag: number) => ({ topic, partition, committed: 0, high: lag, lag });
    expect(lagByTopic('g', [p('raw', 0, 2), p('raw', 1, 3), p('in', 0, 1)])).toEqual({ group: 'g', total: 6, topics: [{ topic: 'in', lag: 1 }, { topic: 'raw', lag: 5 }] });
  });

  it('links to the configured Temporal UI, the local one for a local Temporal, none otherwise', () => {
    expect(temporalUiUrl({ BELTLINE_TEMPORAL_UI_URL: 'https://temporal.example/', TEMPORAL_ADDRESS: 'x:7233', TEMPORAL_UI_PORT: 8233 })).toBe('https://temporal.example');
    expect(temporalUiUrl({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_UI_PORT: 8233 })).toBe('http://127.0.0.1:8233');
    expect(temporalUiUrl({ TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_UI_PORT: 9000 })).toBe('http://127.0.0.1:9000');
    expect(temporalUiUrl({ TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_UI_PORT: 8233 })).toBeNull();
  });
});
