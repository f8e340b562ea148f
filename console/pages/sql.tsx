import { useState } from 'preact/hooks';
import { api, ApiError, describe, projectPath } from '../api';
import { Editor } from '../components/editor';
import { CsvButton, DataTable, ErrorBox, Section } from '../components/ui';
import { useLoad } from '../hooks';
import type { PageProps } from './index';

interface Column {
  name: string;
  type: string;
}

interface Table {
  name: string;
  kind: string;
  segment: { name: string; version: number } | null;
  columns: Column[];
}

interface Result {
  columns: Column[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  ms: number;
}

/** A table's name as SQL must spell it: bare when it can be, quoted otherwise. */
export function sqlName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Column keys for DataTable and the CSV, one per column even when a query repeats a name
 * (`SELECT 1 AS n, 2 AS n`): the second becomes `n (2)`.
 */
export function columnKeys(columns: Column[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    return n === 1 ? c.name : `${c.name} (${n})`;
  });
}

function failure(err: unknown): string {
  if (!(err instanceof ApiError)) return describe(err);
  const position = (err.body.details as { position?: number } | undefined)?.position;
  return `${err.body.message}${position ? ` (at character ${position})` : ''}`;
}

function SchemaTree({ tables, onPick }: { tables: Table[]; onPick: (table: Table) => void }) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (name: string): void => {
    const next = new Set(open);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    setOpen(next);
  };
  return (
    <ul class="schema-tree">
      {tables.map((t) => (
        <li key={t.name} data-table={t.name}>
          <button type="button" class="link toggle" aria-expanded={open.has(t.name)} title="columns" onClick={() => toggle(t.name)}>
            {open.has(t.name) ? '▾' : '▸'}
          </button>{' '}
          <button type="button" class="link table-name" title={`SELECT * FROM ${t.name} LIMIT 100`} onClick={() => onPick(t)}>
            {t.name}
          </button>
          {t.kind !== 'table' && <span class="muted"> {t.kind}</span>}
          {t.segment && <span class="muted"> segment {t.segment.name}</span>}
          {open.has(t.name) && (
            <ul class="columns">
              {t.columns.map((c) => (
                <li key={c.name}>
                  {c.name} <span class="muted">{c.type}</span>
                </li>
              ))}
            </ul>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Seed 001's SQLPad: read-only queries on the project's own tables, with its schema alongside. */
export function SqlPage({ project }: PageProps) {
  const schema = useLoad(() => api<{ schema: string; tables: Table[] }>('GET', projectPath('/sql/schema', project)), [project]);
  const [text, setText] = useState('SELECT * FROM profiles LIMIT 100');
  const [result, setResult] = useState<Result>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (): Promise<void> => {
    if (busy || !text.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api<Result>('POST', projectPath('/sql', project), { sql: text }));
    } catch (err) {
      setResult(undefined);
      setError(failure(err));
    } finally {
      setBusy(false);
    }
  };
  // Ctrl/Cmd-Enter runs: caught before CodeMirror, whose keymap would insert a line.
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.stopPropagation();
      void run();
    }
  };

  const keys = result ? columnKeys(result.columns) : [];
  const rows = result ? result.rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, r[i]]))) : [];
  return (
    <div class="sql-page">
      <Section title="Schema">
        <ErrorBox error={schema.error} />
        {schema.data && (
          <>
            <p class="muted">
              <code>{schema.data.schema}</code>: click a table to query it.
            </p>
            <SchemaTree tables={schema.data.tables} onPick={(t) => setText(`SELECT * FROM ${sqlName(t.name)} LIMIT 100`)} />
          </>
        )}
      </Section>
      <div class="sql-main">
        <Section
          title="SQL"
          actions={
            <button type="button" onClick={() => void run()} disabled={busy}>
              {busy ? 'Running…' : 'Run'}
            </button>
          }
        >
          <div onKeyDownCapture={onKey}>
            <Editor value={text} onChange={setText} language="sql" label="sql" minHeight="8rem" />
          </div>
          <p class="muted">Read-only: one query on this project's tables, rolled back afterwards. Ctrl-Enter runs it.</p>
          <ErrorBox error={error} />
        </Section>
        {result && (
          <Section title="Result" actions={<CsvButton rows={rows} columns={keys} filename={`sql-${project}.csv`} />}>
            <p class="sql-status">
              {result.rowCount} {result.rowCount === 1 ? 'row' : 'rows'} in {result.ms} ms
              {result.truncated && <span class="warn"> — only the first {result.rowCount} rows are shown: add a LIMIT or narrow the query</span>}
            </p>
            <DataTable rows={rows} columns={keys} empty="no rows" />
          </Section>
        )}
      </div>
    </div>
  );
}
