import { api, projectPath } from '../api';
import { plot, type ChartLine } from '../chart';
import { ErrorBox, Section } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import type { PageProps } from './index';

const POLL_MS = 5000;

interface Stats {
  windowMinutes: number;
  minutes: string[];
  batches: { batches: number[]; records: number[]; done: number[]; latencyMs: (number | null)[]; notDone: number };
  eventTypes: { name: string; values: number[]; total: number }[];
  lag: { group: string; total: number | null; topics: { topic: string; lag: number }[]; error?: string };
  temporal: { uiUrl: string | null; namespace: string };
}

interface FailedBatch {
  workflowId: string;
  runId: string;
  startTime: string;
  closeTime?: string;
  source?: string;
  eventTypes: string[];
  eventCount?: number;
  reason: string;
  previousRuns: number;
}

/** The run's page in the Temporal Web UI. */
export function workflowLink(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const W = 560;
const H = 140;
const COLORS = ['#2f6fde', '#1a7f4b', '#a66300', '#7a3fc0'];

/** An inline SVG line chart of per-minute figures, one shared scale, the newest minute on the right. */
function LineChart({ title, lines, minutes, unit }: { title: string; lines: ChartLine[]; minutes: string[]; unit: string }) {
  const p = plot(lines, W, H);
  const time = (iso: string | undefined): string => (iso ? new Date(iso).toISOString().slice(11, 16) : '');
  return (
    <figure class="chart" data-chart={title}>
      <figcaption>
        {title}{' '}
        {p.lines.map((l, i) => (
          <span key={l.name} class="legend" style={{ color: COLORS[i % COLORS.length] }}>
            ● {l.name}: {l.last ?? '–'} {unit}
          </span>
        ))}
      </figcaption>
      <svg width={W + 50} height={H + 24} viewBox={`-44 -6 ${W + 50} ${H + 24}`} role="img" aria-label={title}>
        {p.ticks.map((t) => (
          <g key={t}>
            <line x1={0} x2={W} y1={H - (t / p.max) * H} y2={H - (t / p.max) * H} class="grid" />
            <text x={-6} y={H - (t / p.max) * H + 4} text-anchor="end" class="tick">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        ))}
        <text x={0} y={H + 16} class="tick">
          {time(minutes[0])}
        </text>
        <text x={W} y={H + 16} text-anchor="end" class="tick">
          {time(minutes[minutes.length - 1])} UTC
        </text>
        {p.lines.map((l, i) => (
          <g key={l.name} stroke={COLORS[i % COLORS.length]} fill={COLORS[i % COLORS.length]}>
            <path d={l.path} fill="none" stroke-width={2} stroke-linejoin="round" />
            {l.points.map((pt) => (
              <circle key={pt.x} cx={pt.x} cy={pt.y} r={2.5} />
            ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Issue 15 item 9: failed batches and their replay, consumer lag, throughput and latency. */
export function OperationsPage({ project }: PageProps) {
  const stats = useLoad(() => api<Stats>('GET', projectPath('/stats', project)), [project], POLL_MS);
  const failed = useLoad(() => api<FailedBatch[]>('GET', projectPath('/replays', project)), [project], POLL_MS);
  const replay = useAction();
  const [ui, ns] = [stats.data?.temporal.uiUrl ?? null, stats.data?.temporal.namespace ?? 'default'];
  const start = (body: { workflowId: string } | { all: true }): void => {
    void replay.run(() => api('POST', projectPath('/replays', project), body)).then(() => failed.reload());
  };
  const s = stats.data;
  const batches = failed.data ?? [];
  return (
    <div>
      <Section
        title="Failed batches"
        actions={
          <button type="button" disabled={replay.busy || batches.length === 0} onClick={() => start({ all: true })}>
            Replay all
          </button>
        }
      >
        <p class="muted">Batches that failed after their retries. A replay runs the batch again with the same input; nothing is applied twice.</p>
        <ErrorBox error={failed.error} />
        <ErrorBox error={replay.error} />
        {failed.loading && !failed.data ? (
          <p class="muted">loading…</p>
        ) : batches.length === 0 ? (
          <p class="muted" data-empty="failed-batches">no failed batches</p>
        ) : (
          <div class="table-wrap">
            <table class="data failed-batches">
              <thead>
                <tr>
                  <th>batch (workflow)</th>
                  <th>source</th>
                  <th>event types</th>
                  <th>events</th>
                  <th>failed at</th>
                  <th>reason</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {batches.map((b) => (
                  <tr key={b.workflowId} data-batch={b.workflowId}>
                    <td>{ui ? <a href={workflowLink(ui, ns, b.workflowId)} target="_blank" rel="noopener noreferrer">{b.workflowId}</a> : b.workflowId}</td>
                    <td>{b.source ?? ''}</td>
                    <td>{b.eventTypes.join(', ')}</td>
                    <td>{b.eventCount ?? ''}</td>
                    <td>{b.closeTime ?? b.startTime}</td>
                    <td class="reason" title={b.reason}>
                      {b.reason}
                      {b.previousRuns > 0 ? ` (failed ${b.previousRuns + 1} times)` : ''}
                    </td>
                    <td>
                      <button type="button" class="secondary small" disabled={replay.busy} onClick={() => start({ workflowId: b.workflowId })}>
                        Replay
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {!ui && s && <p class="muted">Set BELTLINE_TEMPORAL_UI_URL to link batches to the Temporal Web UI.</p>}
      </Section>
      <Section title="Consumer lag">
        <ErrorBox error={stats.error} />
        {s &&
          (s.lag.total === null ? (
            <p class="muted">unknown: {s.lag.error}</p>
          ) : (
            <div>
              <p>
                <strong data-lag-total>{s.lag.total}</strong> records not yet started as batches (consumer group <code>{s.lag.group}</code>); staged batches not done (running, or failed):{' '}
                <strong>{s.batches.notDone}</strong>.
              </p>
              <table class="data">
                <thead>
                  <tr>
                    <th>topic</th>
                    <th>lag</th>
                  </tr>
                </thead>
                <tbody>
                  {s.lag.topics.map((t) => (
                    <tr key={t.topic}>
                      <td>{t.topic}</td>
                      <td>{t.lag}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </Section>
      <Section title="Throughput and latency" actions={s && <span class="muted">last {s.windowMinutes} minutes, per minute, every {POLL_MS / 1000} s</span>}>
        {s && (
          <div class="charts">
            <LineChart
              title="Throughput"
              unit="/min"
              minutes={s.minutes}
              lines={[
                { name: 'records in', values: s.batches.records },
                { name: 'events stored', values: s.minutes.map((_, i) => s.eventTypes.reduce((sum, t) => sum + t.values[i], 0)) },
              ]}
            />
            <LineChart title="Batch latency (staged → done)" unit="ms" minutes={s.minutes} lines={[{ name: 'mean', values: s.batches.latencyMs }]} />
          </div>
        )}
      </Section>
    </div>
  );
}
