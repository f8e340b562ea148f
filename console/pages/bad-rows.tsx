import { diffJson, type Change } from 'diff';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, projectPath } from '../api';
import { useAction, useLoad } from '../hooks';
import { ErrorBox, JsonView, Section, StateBadge } from '../components/ui';
import { Editor } from '../components/editor';
import type { PageProps } from './index';

interface BadRowItem {
  id: string;
  type: string;
  createdAt: string;
  recoveredAt: string | null;
  recoveryRun: string | null;
  recoveryFlow: string | null;
  badRow: { schema: string; data: { failure: Record<string, unknown>; payload: unknown } };
}

interface BadRowPage {
  rows: BadRowItem[];
  next: string | null;
  types: { type: string; total: number; pending: number }[];
}

type Counts = Record<'recovered' | 'failed' | 'unmatched' | 'unrecoverable', number>;

interface DryRow {
  id: string;
  type: string;
  status: keyof Counts;
  flow?: string;
  reason?: string;
  view: { original: unknown; recovered?: unknown };
}

interface RunRef {
  workflowId: string;
  temporalUiUrl: string | null;
}

interface RunStatus extends RunRef {
  status: string;
  progress: { done: number; total: number; counts: Counts } | null;
  result: { done: number; counts: Counts; reports: { id: string; status: string; reason?: string }[]; omitted: number } | null;
  error: string | null;
}

/** Every type beltline stores, shown as a tab even before it has rows. */
const TYPES = ['schema_violations', 'tracker_protocol_violations', 'adapter_failures', 'collector_payload_format_violation', 'size_violation', 'loader_parsing_error'];

/** A starting point per type (Snowplow's recovery format): tracker events keep their parameters under `$.raw.parameters`. */
function exampleConfig(type: string): string {
  const key = type || 'schema_violations';
  const flow =
    key === 'collector_payload_format_violation'
      ? { name: 'drop-bad-field', conditions: [{ op: 'Test', path: '$.processor.artifact', value: { value: 'beltline' } }], steps: [{ op: 'Remove', path: '$.data[*].aid', match: '(?U)^.*$' }] }
      : {
          name: `fix-${key.split('_')[0]}`,
          conditions: [{ op: 'Test', path: '$.processor.artifact', value: { value: 'beltline' } }],
          steps: [{ op: 'Replace', path: '$.raw.parameters.aid', match: '(?U)^.*$', value: 'recovered' }],
        };
  return JSON.stringify({ [key]: [flow] }, null, 2);
}

function summary(c: Counts): string {
  return `${c.recovered} recovered, ${c.failed} failed, ${c.unmatched} unmatched, ${c.unrecoverable} unrecoverable`;
}

/** Unchanged lines kept around each change; longer unchanged runs fold into one line. */
const CONTEXT = 3;

type DiffLine = { kind: 'add' | 'del' | 'same'; text: string } | { kind: 'fold'; count: number };

/** The lines of a JSON diff, with long unchanged stretches folded (a payload is mostly unchanged). */
export function diffLinesOf(before: unknown, after: unknown): DiffLine[] {
  const parts: Change[] = diffJson(before as object, after as object);
  const out: DiffLine[] = [];
  parts.forEach((p, i) => {
    const lines = p.value.replace(/\n$/, '').split('\n');
    if (p.added || p.removed) {
      for (const text of lines) out.push({ kind: p.added ? 'add' : 'del', text });
      return;
    }
    const head = i === 0 ? 0 : CONTEXT;
    const tail = i === parts.length - 1 ? 0 : CONTEXT;
    if (lines.length <= head + tail + 1) {
      for (const text of lines) out.push({ kind: 'same', text });
      return;
    }
    for (const text of lines.slice(0, head)) out.push({ kind: 'same', text });
    out.push({ kind: 'fold', count: lines.length - head - tail });
    for (const text of lines.slice(lines.length - tail)) out.push({ kind: 'same', text });
  });
  return out;
}

/** A line diff of two JSON values: removed lines struck out, added ones marked. */
function JsonDiff({ before, after }: { before: unknown; after: unknown }) {
  return (
    <pre class="json recovery-diff">
      {diffLinesOf(before, after).map((l, i) =>
        l.kind === 'fold' ? (
          <span key={i} class="diff-fold">
            … {l.count} unchanged lines
          </span>
        ) : (
          <span key={i} class={l.kind === 'add' ? 'diff-add' : l.kind === 'del' ? 'diff-del' : ''}>
            {l.text}
          </span>
        ),
      )}
    </pre>
  );
}

function Recovery({ type, since, onRecovered }: { type: string; since: string; onRecovered: () => void }) {
  const [config, setConfig] = useState(() => exampleConfig(type));
  const edited = useRef(false);
  useEffect(() => {
    if (!edited.current) setConfig(exampleConfig(type));
  }, [type]);
  const filter = { ...(type ? { types: [type] } : {}), ...(since ? { since } : {}) };
  const dry = useAction();
  const [preview, setPreview] = useState<{ rows: DryRow[]; counts: Counts }>();
  const start = useAction();
  const [run, setRun] = useState<RunRef>();
  const [status, setStatus] = useState<RunStatus>();
  const [pollError, setPollError] = useState<string>();

  useEffect(() => {
    if (!run) return;
    let live = true;
    const poll = async (): Promise<void> => {
      try {
        const st = await api<RunStatus>('GET', projectPath(`/recovery/runs/${encodeURIComponent(run.workflowId)}`));
        if (!live) return;
        setStatus(st);
        setPollError(undefined);
        if (st.status !== 'RUNNING') {
          onRecovered();
          return;
        }
      } catch (e) {
        if (live) setPollError(e instanceof Error ? e.message : String(e));
      }
      if (live) setTimeout(() => void poll(), 1000);
    };
    void poll();
    return () => {
      live = false;
    };
  }, [run]);

  const dryRun = (): Promise<boolean> => dry.run(async () => setPreview(await api('POST', projectPath('/recovery/dry-run'), { config, filter, limit: 50 })));
  const startRun = (): Promise<boolean> =>
    start.run(async () => {
      setStatus(undefined);
      setRun(await api<RunRef>('POST', projectPath('/recovery/runs'), { config, filter }));
    });
  const progress = status?.result ?? status?.progress;
  return (
    <Section
      title="Recovery"
      actions={
        <>
          <button type="button" class="secondary" onClick={() => void dryRun()} disabled={dry.busy}>
            Dry run
          </button>
          <button type="button" onClick={() => void startRun()} disabled={start.busy || status?.status === 'RUNNING' || (run !== undefined && !status)}>
            Run recovery
          </button>
        </>
      }
    >
      <p class="muted">
        Flows keyed by bad-row type (Snowplow's recovery configuration); conditions look at the bad row (<code>$.failure…</code>, <code>$.payload…</code>), steps edit its payload. Runs on{' '}
        {type ? <code>{type}</code> : 'every type'}
        {since ? ` stored since ${since}` : ''}, rows not recovered yet. A dry run changes nothing.
      </p>
      <Editor
        label="recovery config"
        language="json"
        value={config}
        onChange={(v) => {
          edited.current = true;
          setConfig(v);
        }}
      />
      <ErrorBox error={dry.error ?? start.error ?? pollError} />
      {run && (
        <div class="notice run-status">
          <p>
            Run <code>{run.workflowId}</code> {status && <StateBadge state={status.status.toLowerCase()} />}{' '}
            {run.temporalUiUrl && (
              <a href={run.temporalUiUrl} target="_blank" rel="noopener noreferrer">
                open in the Temporal Web UI
              </a>
            )}
          </p>
          {progress && (
            <p class="run-progress">
              {progress.done} of {'total' in progress ? progress.total : progress.done} bad rows: {summary(progress.counts)}
            </p>
          )}
          {status?.error && <p class="bad">{status.error}</p>}
          {status?.result && status.result.reports.length > 0 && (
            <ul>
              {status.result.reports.map((r) => (
                <li key={r.id}>
                  bad row {r.id}: {r.status}
                  {r.reason ? ` (${r.reason})` : ''}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {preview && (
        <div class="dry-run">
          <p class="notice dry-run-summary">dry run, nothing changed: {summary(preview.counts)} (of {preview.rows.length} bad rows)</p>
          {preview.rows.map((r) => (
            <div key={r.id} class="dry-row" data-row={r.id}>
              <h3>
                bad row {r.id} ({r.type}): {r.status}
                {r.flow ? ` by flow "${r.flow}"` : ''}
              </h3>
              {r.reason && <p class="muted">{r.reason}</p>}
              {r.status === 'recovered' && <JsonDiff before={r.view.original} after={r.view.recovered} />}
            </div>
          ))}
        </div>
      )}
    </Section>
  );
}

/** Bad rows by type (Snowplow's format), and their recovery: a configuration, its dry run's diff, a run on Temporal. */
export function BadRowsPage({ route }: PageProps) {
  const [type, setType] = useState(route.query.get('type') ?? '');
  const [sinceInput, setSinceInput] = useState(route.query.get('since') ?? '');
  const [since, setSince] = useState(sinceInput);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [selected, setSelected] = useState<string>();
  const list = useLoad(
    () => {
      const q = new URLSearchParams({ limit: '50' });
      if (type) q.set('type', type);
      if (since) q.set('since', since);
      const after = cursors[cursors.length - 1];
      if (after) q.set('after', after);
      return api<BadRowPage>('GET', projectPath(`/bad-rows?${q.toString()}`));
    },
    [type, since, cursors],
    5000,
  );
  const counts = new Map((list.data?.types ?? []).map((t) => [t.type, t]));
  const all = [...counts.values()].reduce((n, t) => n + t.total, 0);
  const choose = (t: string): void => {
    setType(t);
    setCursors([undefined]);
    setSelected(undefined);
  };
  const row = list.data?.rows.find((r) => r.id === selected);
  return (
    <div>
      <Section title="Bad rows">
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            setSince(sinceInput.trim());
            setCursors([undefined]);
          }}
        >
          <label>
            Stored since <input name="since" value={sinceInput} onInput={(e) => setSinceInput((e.target as HTMLInputElement).value)} placeholder="ISO-8601, e.g. 2026-01-31T00:00:00Z" size={28} />
          </label>
          <button type="submit" class="secondary">
            Apply
          </button>
        </form>
        <div class="tabs" role="tablist">
          {['', ...TYPES].map((t) => {
            const c = t ? counts.get(t) : undefined;
            return (
              <button key={t || 'all'} type="button" role="tab" data-type={t || 'all'} aria-selected={t === type} class={t === type ? 'tab active' : 'tab'} onClick={() => choose(t)}>
                {t || 'all types'} ({t ? (c ? `${c.pending}/${c.total}` : '0') : all})
              </button>
            );
          })}
        </div>
        <p class="muted">Counts are rows waiting for recovery / all stored. Select a row to see it whole.</p>
        <ErrorBox error={list.error} />
        {list.data && list.data.rows.length === 0 && <p class="muted">no bad rows{type ? ` of type ${type}` : ''}</p>}
        {list.data && list.data.rows.length > 0 && (
          <div class="table-wrap">
            <table class="data bad-rows">
              <thead>
                <tr>
                  <th>id</th>
                  <th>type</th>
                  <th>stored</th>
                  <th>recovery</th>
                  <th>failure</th>
                </tr>
              </thead>
              <tbody>
                {list.data.rows.map((r) => (
                  <tr key={r.id} data-id={r.id} class={r.id === selected ? 'selected' : ''} onClick={() => setSelected(r.id)} style={{ cursor: 'pointer' }}>
                    <td>
                      <a
                        href="#"
                        onClick={(e) => {
                          e.preventDefault();
                          setSelected(r.id);
                        }}
                      >
                        {r.id}
                      </a>
                    </td>
                    <td>{r.type}</td>
                    <td>{r.createdAt}</td>
                    <td>{r.recoveredAt ? `recovered by "${r.recoveryFlow ?? ''}"` : 'waiting'}</td>
                    <td>{JSON.stringify(r.badRow.data.failure).slice(0, 160)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <div class="row">
          <button type="button" class="secondary" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous
          </button>
          <button type="button" class="secondary" disabled={!list.data?.next} onClick={() => setCursors([...cursors, list.data?.next ?? undefined])}>
            Next
          </button>
        </div>
        {row && (
          <div class="bad-row-detail">
            <h3>
              bad row {row.id} ({row.badRow.schema})
            </h3>
            <JsonView value={row.badRow} />
          </div>
        )}
      </Section>
      <Recovery type={type} since={since} onRecovered={list.reload} />
    </div>
  );
}
