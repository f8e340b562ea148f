import type { ComponentChildren } from 'preact';
import { cellText, downloadCsv } from '../csv';

export function ErrorBox({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {error}
    </div>
  );
}

export function Section({ title, actions, children }: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card">
      <header class="card-head">
        <h2>{title}</h2>
        <div class="actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** Pretty JSON with its keys, strings and numbers told apart; small enough to need no library. */
export function JsonView({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

/** A table of rows (objects); `columns` defaults to every key seen. Cells that are objects show as JSON. */
export function DataTable({ rows, columns, empty = 'nothing yet' }: { rows: Record<string, unknown>[]; columns?: string[]; empty?: string }) {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (rows.length === 0) return <p class="muted">{empty}</p>;
  return (
    <div class="table-wrap">
      <table class="data">
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {cols.map((c) => (
                <td key={c}>{cellText(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}


/** A button that saves rows as a CSV file, made in the page from what is shown. */
export function CsvButton({ rows, columns, filename }: { rows: Record<string, unknown>[]; columns?: string[]; filename: string }) {
  const download = (): void => downloadCsv(rows, filename, columns);
  return (
    <button type="button" onClick={download} disabled={rows.length === 0}>
      Download CSV
    </button>
  );
}
