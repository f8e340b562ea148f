import { useState } from 'preact/hooks';
import { api, projectPath } from '../api';
import { downloadCsv } from '../csv';
import { useAction, useLoad } from '../hooks';
import { DataTable, ErrorBox, Section } from '../components/ui';
import { href } from '../router';
import type { PageProps } from './index';

interface SegmentInfo {
  name: string;
  version: number;
  table: string;
  columns: { name: string; type: string; required: boolean }[];
  rows: number;
  deadLetters: number;
}

interface RowPage {
  rows: Record<string, unknown>[];
  next: string | null;
}

interface DeadLetter {
  id: string;
  rowId: string;
  row: Record<string, unknown>;
  reason: { kind: string; messages: string[] };
  eventId: string;
  belt: string;
  createdAt: string;
  attempts: number;
  redrivenAt: string | null;
}

/** The most rows a CSV download gathers, page by page; a bigger export is a job for SQL or the CLI. */
const CSV_MAX_ROWS = 10_000;

function rowsPath(segment: string, filters: [string, string][], after?: string, limit = 100): string {
  const q = new URLSearchParams({ limit: String(limit) });
  for (const [c, v] of filters) q.append('filter', `${c}=${v}`);
  if (after) q.set('after', after);
  return projectPath(`/segments/${encodeURIComponent(segment)}/rows?${q.toString()}`);
}

function Rows({ seg }: { seg: SegmentInfo }) {
  const [column, setColumn] = useState(seg.columns[0]?.name ?? 'id');
  const [value, setValue] = useState('');
  const [filters, setFilters] = useState<[string, string][]>([]);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const page = useLoad(() => api<RowPage>('GET', rowsPath(seg.name, filters, cursors[cursors.length - 1])), [seg.name, filters, cursors], 5000);
  const exporting = useAction();
  const download = (): Promise<boolean> =>
    exporting.run(async () => {
      const all: Record<string, unknown>[] = [];
      let after: string | undefined;
      do {
        const p = await api<RowPage>('GET', rowsPath(seg.name, filters, after, 1000));
        all.push(...p.rows);
        after = p.next ?? undefined;
      } while (after && all.length < CSV_MAX_ROWS);
      downloadCsv(all, `${seg.name}.csv`);
    });
  const apply = (e: Event): void => {
    e.preventDefault();
    setFilters(value === '' ? [] : [[column, value]]);
    setCursors([undefined]);
  };
  return (
    <Section
      title={`Rows of ${seg.name} (version ${seg.version}, table ${seg.table})`}
      actions={
        <button type="button" class="secondary" onClick={() => void download()} disabled={exporting.busy}>
          Download CSV
        </button>
      }
    >
      <form class="row" onSubmit={apply}>
        <label>
          Filter{' '}
          <select name="filter-column" value={column} onChange={(e) => setColumn((e.target as HTMLSelectElement).value)}>
            {['id', ...seg.columns.map((c) => c.name).filter((c) => c !== 'id')].map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <input name="filter-value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="value (compared as text)" />
        <button type="submit" class="secondary">
          Apply
        </button>
      </form>
      <ErrorBox error={page.error ?? exporting.error} />
      <DataTable rows={page.data?.rows ?? []} empty={filters.length ? 'no row matches' : 'no rows yet'} />
      <div class="row">
        <button type="button" class="secondary" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button type="button" class="secondary" disabled={!page.data?.next} onClick={() => setCursors([...cursors, page.data?.next ?? undefined])}>
          Next
        </button>
      </div>
    </Section>
  );
}

function DeadLetters({ seg, onRedriven }: { seg: SegmentInfo; onRedriven: () => void }) {
  const [all, setAll] = useState(false);
  const letters = useLoad(() => api<{ deadLetters: DeadLetter[] }>('GET', projectPath(`/segments/${encodeURIComponent(seg.name)}/dead-letters?all=${all}`)), [seg.name, all], 5000);
  const redrive = useAction();
  const [result, setResult] = useState<{ redriven: number; stillFailing: number }>();
  const run = async (): Promise<void> => {
    const ok = await redrive.run(async () => setResult(await api('POST', projectPath(`/segments/${encodeURIComponent(seg.name)}/redrive`))));
    if (ok) {
      letters.reload();
      onRedriven();
    }
  };
  const rows = (letters.data?.deadLetters ?? []).map((d) => ({
    row: d.rowId,
    reason: `${d.reason.kind}: ${d.reason.messages.join('; ')}`,
    values: d.row,
    event: d.eventId,
    belt: d.belt,
    at: d.createdAt,
    redriven: d.redrivenAt ?? '',
  }));
  return (
    <Section
      title={`Dead letters of ${seg.name}`}
      actions={
        <>
          <label>
            <input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> include redriven
          </label>
          <button type="button" onClick={() => void run()} disabled={redrive.busy}>
            Redrive
          </button>
        </>
      }
    >
      <p class="muted">Rows the segment's schema refused, with ajv's reasons. Fix the schema (Event types), then redrive: rows that pass now are written; the rest stay.</p>
      <ErrorBox error={letters.error ?? redrive.error} />
      {result && (
        <p class="notice redrive-result">
          redriven {result.redriven}, still failing {result.stillFailing}
        </p>
      )}
      <DataTable rows={rows} columns={['row', 'reason', 'values', 'event', 'belt', 'at', 'redriven']} empty="no dead letters" />
    </Section>
  );
}

/** Live segments: each table's rows (filter, paging, CSV) and its dead letters (reasons, redrive). */
export function SegmentsPage({ route }: PageProps) {
  const list = useLoad(() => api<SegmentInfo[]>('GET', projectPath('/segments')), [], 5000);
  const selected = list.data?.find((s) => s.name === route.rest[0]);
  return (
    <div>
      <Section title="Live segments">
        <ErrorBox error={list.error} />
        {list.data && list.data.length === 0 && <p class="muted">no live segments: create an event type of type live_segment, and a belt that writes to it</p>}
        {list.data && list.data.length > 0 && (
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th>segment</th>
                  <th>version</th>
                  <th>table</th>
                  <th>rows</th>
                  <th>dead letters</th>
                </tr>
              </thead>
              <tbody>
                {list.data.map((s) => (
                  <tr key={s.name} class={s.name === selected?.name ? 'selected' : ''}>
                    <td>
                      <a href={href('segments', s.name)}>{s.name}</a>
                    </td>
                    <td>{s.version}</td>
                    <td>{s.table}</td>
                    <td>{s.rows}</td>
                    <td class={s.deadLetters > 0 ? 'bad' : ''}>{s.deadLetters}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {selected && <Rows key={`rows:${selected.name}`} seg={selected} />}
      {selected && <DeadLetters key={`dl:${selected.name}`} seg={selected} onRedriven={list.reload} />}
    </div>
  );
}
