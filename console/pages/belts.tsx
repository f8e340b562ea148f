import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, describe, projectPath } from '../api';
import { definitionText, lineDiff } from '../belt-diff';
import { Editor } from '../components/editor';
import { ErrorBox, JsonView, Section, StateBadge } from '../components/ui';
import { useAction, useLoad } from '../hooks';
import { href, navigate } from '../router';
import type { PageProps } from './index';

type BeltType = 'js-callback' | 'python-callback';

interface BeltDefinition {
  name: string;
  beltType: BeltType;
  eventTypes: string[];
  outputTypes: { name: string; version: string }[];
  extractorFn: string;
  scale?: number;
}

interface BeltHead {
  name: string;
  version: string;
  number: number;
  running: boolean;
  source: 'api' | 'folder';
  definition: BeltDefinition;
}

interface BeltVersion {
  version: string;
  number: number;
  createdAt: string;
}

interface EventTypeInfo {
  name: string;
  type: string;
}

interface StoredEvent {
  eventId: string;
  correlationId: string;
  created: string;
  headers: Record<string, unknown>;
  payload: unknown;
}

interface BeltErrorRow {
  eventId: string;
  version: string;
  error: { kind: string; message: string; stack?: string; logs?: string[] };
  createdAt: string;
}

interface TryAnswer {
  eventId: string;
  correlationId: string;
  profile: unknown;
  outputs: unknown[];
  updates: unknown[];
  direct: unknown[];
  actions: unknown[];
  logs: string[];
  durationMs: number;
}

/** `#/belts/_new`: no belt can be called that (a name starts with a letter or digit). */
const NEW = '_new';

const TEMPLATES: Record<BeltType, string> = {
  'js-callback': `function execute(headers, payload, profile) {
  // Return profile updates, DirectUpdate rows and Actions for this event.
  return [Update(headers['grnry-correlation-id'], ['lastSeen'], headers['grnry-created'])];
}
`,
  'python-callback': `def execute(event_headers, event_payload, profile=None):
    # Return profile updates (dicts), DirectUpdate rows and Actions for this event.
    return [{
        '_operation': '_set',
        '_id': event_headers['grnry-correlation-id'],
        '_path': ['lastSeen'],
        '_value': {'_v': event_headers['grnry-created']},
    }]
`,
};

const language = (t: BeltType) => (t === 'python-callback' ? 'python' : 'javascript');
const languageName = (t: BeltType) => (t === 'python-callback' ? 'Python' : 'JavaScript');
const beltsPath = (project: string, rest = '') => projectPath(`/belts${rest}`, project);

/** Issue 15's Belts page: the list, and one belt's definition, trial run, versions and errors. */
export function BeltsPage({ route, project }: PageProps) {
  const name = route.rest[0];
  if (name === undefined) return <BeltList project={project} />;
  return <BeltView key={name} project={project} name={name === NEW ? undefined : name} />;
}

function RunningButton({ project, head, onDone }: { project: string; head: BeltHead; onDone: () => void }) {
  const action = useAction();
  const verb = head.running ? 'Stop' : 'Start';
  const click = async (): Promise<void> => {
    if (await action.run(() => api('POST', beltsPath(project, `/${encodeURIComponent(head.name)}/${verb.toLowerCase()}`)))) onDone();
  };
  return (
    <>
      <button type="button" class={head.running ? 'secondary' : ''} data-belt-action={`${verb.toLowerCase()}:${head.name}`} disabled={action.busy} onClick={() => void click()}>
        {verb}
      </button>
      {action.error && <span class="error">{action.error}</span>}
    </>
  );
}

function BeltList({ project }: { project: string }) {
  const list = useLoad(() => api<BeltHead[]>('GET', beltsPath(project)), [project]);
  const belts = list.data ?? [];
  return (
    <Section
      title="Belts"
      actions={
        <button type="button" onClick={() => navigate('belts', NEW)}>
          New belt
        </button>
      }
    >
      <ErrorBox error={list.error} />
      {belts.length === 0 && !list.loading ? (
        <p class="muted">No belts in this project yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="data belts">
            <thead>
              <tr>
                <th>name</th>
                <th>state</th>
                <th>language</th>
                <th>input types</th>
                <th>output types</th>
                <th>version</th>
                <th>source</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {belts.map((b) => (
                <tr key={b.name} data-belt={b.name}>
                  <td>
                    <a href={href('belts', b.name)}>{b.name}</a>
                  </td>
                  <td>
                    <StateBadge state={b.running ? 'running' : 'stopped'} />
                  </td>
                  <td>{languageName(b.definition.beltType)}</td>
                  <td>{b.definition.eventTypes.join(', ')}</td>
                  <td>{b.definition.outputTypes.map((o) => o.name).join(', ')}</td>
                  <td>
                    #{b.number} <span class="muted">{b.version.slice(0, 8)}</span>
                  </td>
                  <td>{b.source}</td>
                  <td>
                    <RunningButton project={project} head={b} onDone={list.reload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function emptyDefinition(): BeltDefinition {
  return { name: '', beltType: 'js-callback', eventTypes: [], outputTypes: [], extractorFn: TEMPLATES['js-callback'] };
}

function BeltView({ project, name }: { project: string; name: string | undefined }) {
  const head = useLoad(() => (name ? api<BeltHead>('GET', beltsPath(project, `/${encodeURIComponent(name)}`)) : Promise.resolve(undefined)), [project, name]);
  const types = useLoad(() => api<EventTypeInfo[]>('GET', projectPath('/event-types', project)), [project]);
  const [draft, setDraft] = useState<BeltDefinition>(emptyDefinition);
  const [saved, setSaved] = useState<BeltHead>();
  const save = useAction();
  const current = head.data;

  // A loaded (or newly saved) version replaces the draft; typing does not reload it.
  useEffect(() => {
    if (current) setDraft({ ...current.definition });
  }, [current?.version]);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setSaved(undefined);
    const body: BeltDefinition = { ...draft, ...(draft.scale ? {} : { scale: undefined }) };
    await save.run(async () => {
      const h = name ? await api<BeltHead>('PUT', beltsPath(project, `/${encodeURIComponent(name)}`), body) : await api<BeltHead>('POST', beltsPath(project), body);
      setSaved(h);
      if (name) head.reload();
      else navigate('belts', h.name);
    });
  };
  const all = types.data ?? [];
  const outputs = all.filter((t) => t.type === 'live_segment' || t.type === 'data_in');
  const toggle = (list: string[], item: string, on: boolean): string[] => (on ? [...list, item] : list.filter((x) => x !== item));
  const chooseType = (t: BeltType): void =>
    // An untouched template follows the language; a written source stays as it is.
    setDraft((d) => ({ ...d, beltType: t, extractorFn: Object.values(TEMPLATES).includes(d.extractorFn) ? TEMPLATES[t] : d.extractorFn }));

  if (name && head.error) return <ErrorBox error={head.error} />;
  if (name && !current) return <p class="muted">…</p>;
  return (
    <div>
      <p>
        <a href={href('belts')}>← Belts</a>
      </p>
      <Section
        title={current ? `Belt ${current.name}` : 'New belt'}
        actions={
          current && (
            <>
              <span style={{ alignSelf: 'center' }}>
                <StateBadge state={current.running ? 'running' : 'stopped'} />
              </span>
              <span class="muted" style={{ alignSelf: 'center' }}>
                version #{current.number} {current.version.slice(0, 8)}
              </span>
              <RunningButton project={project} head={current} onDone={head.reload} />
            </>
          )
        }
      >
        <form onSubmit={(e) => void submit(e)} class="belt-form">
          <div class="row">
            {!name && (
              <label>
                Name <input name="belt-name" value={draft.name} required placeholder="page-counter" onInput={(e) => setDraft({ ...draft, name: (e.target as HTMLInputElement).value })} />
              </label>
            )}
            <label>
              Language{' '}
              <select name="belt-type" value={draft.beltType} onChange={(e) => chooseType((e.target as HTMLSelectElement).value as BeltType)}>
                <option value="js-callback">JavaScript (js-callback)</option>
                <option value="python-callback">Python (python-callback)</option>
              </select>
            </label>
            <label>
              Scale{' '}
              <input
                name="belt-scale"
                type="number"
                min={1}
                max={64}
                value={draft.scale ?? ''}
                placeholder="inline"
                onInput={(e) => {
                  const v = (e.target as HTMLInputElement).value;
                  setDraft({ ...draft, scale: v ? Number(v) : undefined });
                }}
              />
            </label>
          </div>
          <div class="row">
            <strong>Input event types</strong>
            {all.map((t) => (
              <label key={t.name}>
                <input type="checkbox" name="belt-input" value={t.name} checked={draft.eventTypes.includes(t.name)} onChange={(e) => setDraft({ ...draft, eventTypes: toggle(draft.eventTypes, t.name, (e.target as HTMLInputElement).checked) })} />
                {t.name}
              </label>
            ))}
          </div>
          <div class="row">
            <strong>Output types</strong>
            {outputs.length === 0 && <span class="muted">none (live_segment or data_in types)</span>}
            {outputs.map((t) => (
              <label key={t.name}>
                <input
                  type="checkbox"
                  name="belt-output"
                  value={t.name}
                  checked={draft.outputTypes.some((o) => o.name === t.name)}
                  onChange={(e) =>
                    setDraft({ ...draft, outputTypes: (e.target as HTMLInputElement).checked ? [...draft.outputTypes, { name: t.name, version: 'latest' }] : draft.outputTypes.filter((o) => o.name !== t.name) })
                  }
                />
                {t.name} <span class="muted">({t.type})</span>
              </label>
            ))}
          </div>
          <Editor label="belt source" language={language(draft.beltType)} value={draft.extractorFn} onChange={(v) => setDraft((d) => ({ ...d, extractorFn: v }))} minHeight="14rem" />
          <div class="row">
            <button type="submit" disabled={save.busy}>
              {name ? 'Save new version' : 'Create belt'}
            </button>
            {saved && (
              <span class="ok" data-saved>
                saved: version #{saved.number} {saved.version.slice(0, 8)}
              </span>
            )}
          </div>
          <ErrorBox error={save.error} />
        </form>
      </Section>
      <TryPanel project={project} draft={draft} />
      {current && <VersionsPanel project={project} head={current} draft={draft} />}
      {current && <ErrorsPanel project={project} name={current.name} />}
    </div>
  );
}

const SAMPLE = `{
  "headers": { "grnry-correlation-id": "user-1" },
  "payload": {}
}
`;

function TryPanel({ project, draft }: { project: string; draft: BeltDefinition }) {
  const [mode, setMode] = useState<'stored' | 'paste'>('stored');
  const [eventType, setEventType] = useState<string>('');
  const type = draft.eventTypes.includes(eventType) ? eventType : (draft.eventTypes[0] ?? '');
  // The event store pages oldest first: a large first page, its newest events shown first.
  const events = useLoad(
    () =>
      type
        ? api<{ events: StoredEvent[] }>('GET', projectPath(`/event-types/${encodeURIComponent(type)}/events?limit=1000`, project)).then((p) => p.events.slice(-20).reverse())
        : Promise.resolve([] as StoredEvent[]),
    [project, type],
  );
  const [eventId, setEventId] = useState('');
  const stored = events.data ?? [];
  const chosen = stored.find((e) => e.eventId === eventId) ?? stored[0];
  const [pasted, setPasted] = useState(SAMPLE);
  const [answer, setAnswer] = useState<TryAnswer>();
  const [failure, setFailure] = useState<{ message: string; details?: unknown }>();
  const [busy, setBusy] = useState(false);

  const run = async (): Promise<void> => {
    setAnswer(undefined);
    setFailure(undefined);
    let event: unknown;
    if (mode === 'stored') {
      if (!chosen) return setFailure({ message: `no stored ${type || 'input'} event to try on: send one, or paste one` });
      event = { eventType: type, eventId: chosen.eventId };
    } else {
      try {
        event = JSON.parse(pasted) as unknown;
      } catch (e) {
        return setFailure({ message: `the pasted event is not JSON: ${(e as Error).message}` });
      }
    }
    setBusy(true);
    try {
      // A new belt may be tried before it has a name: the name only labels the run.
      setAnswer(await api<TryAnswer>('POST', beltsPath(project, '/try'), { definition: { ...draft, name: draft.name || 'draft' }, event }));
    } catch (e) {
      setFailure(e instanceof ApiError ? { message: describe(e), details: e.body.details } : { message: describe(e) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <Section title="Try on a sample event">
      <p class="muted">Runs the source in the editor (saved or not) in the production sandbox on one event, with its user's profile; nothing is applied.</p>
      <div class="row">
        <label>
          <input type="radio" name="try-mode" value="stored" checked={mode === 'stored'} onChange={() => setMode('stored')} /> a stored event
        </label>
        <label>
          <input type="radio" name="try-mode" value="paste" checked={mode === 'paste'} onChange={() => setMode('paste')} /> a pasted event
        </label>
      </div>
      {mode === 'stored' ? (
        <div class="row">
          <label>
            Event type{' '}
            <select name="try-event-type" value={type} onChange={(e) => setEventType((e.target as HTMLSelectElement).value)}>
              {draft.eventTypes.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </label>
          <label>
            Event{' '}
            <select name="try-event" value={chosen?.eventId ?? ''} onChange={(e) => setEventId((e.target as HTMLSelectElement).value)}>
              {stored.map((e) => (
                <option key={e.eventId} value={e.eventId}>
                  {e.created} · {e.eventId} · {JSON.stringify(e.payload).slice(0, 60)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" class="secondary" onClick={events.reload}>
            Reload events
          </button>
          {!events.loading && stored.length === 0 && <span class="muted">no stored events of this type</span>}
          <ErrorBox error={events.error} />
        </div>
      ) : (
        <Editor label="sample event" language="json" value={pasted} onChange={setPasted} minHeight="6rem" />
      )}
      {mode === 'stored' && chosen && <JsonView value={{ headers: chosen.headers, payload: chosen.payload }} />}
      <div class="row">
        <button type="button" name="try" disabled={busy || draft.eventTypes.length === 0} onClick={() => void run()}>
          Try it
        </button>
        {draft.eventTypes.length === 0 && <span class="muted">choose an input event type first</span>}
      </div>
      {failure && (
        <div class="try-failure">
          <ErrorBox error={failure.message} />
          {failure.details !== undefined && <JsonView value={failure.details} />}
        </div>
      )}
      {answer && <TryOutputs answer={answer} />}
    </Section>
  );
}

function TryOutputs({ answer }: { answer: TryAnswer }) {
  const parts: [string, unknown[]][] = [
    ['Profile updates', answer.updates],
    ['Live segment rows', answer.direct],
    ['Actions', answer.actions],
  ];
  return (
    <div class="try-result">
      <p class="ok">
        Ran on {answer.eventId} in {answer.durationMs} ms: {answer.outputs.length} output{answer.outputs.length === 1 ? '' : 's'}.
      </p>
      {parts.map(([title, items]) => (
        <div key={title} data-output={title}>
          <h3>
            {title} <span class="muted">({items.length})</span>
          </h3>
          {items.length > 0 && <JsonView value={items} />}
        </div>
      ))}
      <h3>Logs</h3>
      {answer.logs.length > 0 ? <pre class="json try-logs">{answer.logs.join('\n')}</pre> : <p class="muted">none</p>}
      <h3>Profile the belt saw ({answer.correlationId})</h3>
      <JsonView value={answer.profile} />
    </div>
  );
}

/** `editor`: the draft in the editor, not yet saved. */
const EDITOR = 'editor';

function VersionsPanel({ project, head, draft }: { project: string; head: BeltHead; draft: BeltDefinition }) {
  const base = `/${encodeURIComponent(head.name)}/versions`;
  const versions = useLoad(() => api<BeltVersion[]>('GET', beltsPath(project, base)), [project, head.name, head.version]);
  const list = versions.data ?? [];
  const [from, setFrom] = useState<string>();
  const [to, setTo] = useState<string>();
  // Defaults: the version before the current one against the current one; a first version against the editor.
  const prev = list.length > 1 ? list[list.length - 2].version : head.version;
  const left = from ?? prev;
  const right = to ?? (list.length > 1 ? head.version : EDITOR);
  const wanted = [left, right].filter((v) => v !== EDITOR);
  const defs = useLoad(
    () => Promise.all(wanted.map((v) => api<{ version: string; definition: BeltDefinition }>('GET', beltsPath(project, `${base}/${encodeURIComponent(v)}`)))),
    [project, head.name, wanted.join(' ')],
  );
  const textOf = (v: string): string | undefined => {
    if (v === EDITOR) return definitionText(draft);
    const d = defs.data?.find((x) => x.version === v);
    return d && definitionText(d.definition);
  };
  const a = textOf(left);
  const b = textOf(right);
  const diff = useMemo(() => (a !== undefined && b !== undefined ? lineDiff(a, b) : undefined), [a, b]);
  const label = (v: BeltVersion) => `#${v.number} ${v.version.slice(0, 8)}${v.version === head.version ? ' (current)' : ''}`;
  const options = [...list.map((v) => ({ value: v.version, text: label(v) })), { value: EDITOR, text: 'editor (unsaved)' }];
  const changed = diff?.filter((l) => l.kind !== 'same').length ?? 0;
  return (
    <Section title="Versions">
      <ErrorBox error={versions.error} />
      <div class="table-wrap">
        <table class="data versions">
          <thead>
            <tr>
              <th>number</th>
              <th>version</th>
              <th>created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((v) => (
              <tr key={v.version}>
                <td>#{v.number}</td>
                <td>
                  {v.version}
                  {v.version === head.version && (
                    <>
                      {' '}
                      <span class="badge state-ok">current</span>
                    </>
                  )}
                </td>
                <td>{v.createdAt}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="row">
        <label>
          Compare{' '}
          <select name="diff-from" value={left} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.text}
              </option>
            ))}
          </select>
        </label>
        <label>
          with{' '}
          <select name="diff-to" value={right} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
            {options.map((o) => (
              <option key={o.value} value={o.value}>
                {o.text}
              </option>
            ))}
          </select>
        </label>
        {diff && <span class="muted">{changed === 0 ? 'no differences' : `${changed} line${changed === 1 ? '' : 's'} changed`}</span>}
      </div>
      <ErrorBox error={defs.error} />
      {diff && (
        <pre class="json diff">
          {diff.map((l, i) => (
            <div key={i} class={l.kind === 'add' ? 'diff-add' : l.kind === 'del' ? 'diff-del' : ''}>
              {l.kind === 'add' ? '+ ' : l.kind === 'del' ? '- ' : '  '}
              {l.text}
            </div>
          ))}
        </pre>
      )}
    </Section>
  );
}

function ErrorsPanel({ project, name }: { project: string; name: string }) {
  const path = `/${encodeURIComponent(name)}`;
  const errors = useLoad(() => api<BeltErrorRow[]>('GET', beltsPath(project, `${path}/errors?limit=100`)), [project, name]);
  const retry = useAction();
  const [answer, setAnswer] = useState<unknown>();
  const rows = errors.data ?? [];
  const click = async (): Promise<void> => {
    setAnswer(undefined);
    await retry.run(async () => setAnswer(await api('POST', beltsPath(project, `${path}/retry`), {})));
  };
  return (
    <Section
      title="Errors"
      actions={
        <>
          <button type="button" class="secondary" onClick={errors.reload}>
            Reload
          </button>
          <button type="button" name="retry" disabled={retry.busy || rows.length === 0} onClick={() => void click()}>
            Retry
          </button>
        </>
      }
    >
      <p class="muted">Events the belt failed on, newest first. Retry runs the current version again on them.</p>
      <ErrorBox error={errors.error ?? retry.error} />
      {answer !== undefined && (
        <div class="notice">
          Retry started: <JsonView value={answer} />
        </div>
      )}
      {rows.length === 0 ? (
        <p class="muted">no errors</p>
      ) : (
        <div class="table-wrap">
          <table class="data belt-errors">
            <thead>
              <tr>
                <th>when</th>
                <th>event</th>
                <th>version</th>
                <th>kind</th>
                <th>message</th>
                <th>logs</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.eventId}:${r.version}`}>
                  <td>{r.createdAt}</td>
                  <td>{r.eventId}</td>
                  <td>{r.version.slice(0, 8)}</td>
                  <td>{r.error.kind}</td>
                  <td title={r.error.stack}>{r.error.message}</td>
                  <td>{(r.error.logs ?? []).join('\n')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
