import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Diagnostic } from '@codemirror/lint';
import { api, ApiError, describe, projectPath } from '../api';
import { useLoad } from '../hooks';
import { Editor } from '../components/editor';
import { ErrorBox, JsonView, Section } from '../components/ui';
import { arrivals, cursorOf, NEWEST, newer, older, pageNumber, type Paging } from '../event-paging';
import { formatJson, schemaProblems, type Problem, type Range } from '../json-schema-lint';
import type { PageProps } from './index';

const KINDS = ['data_in', 'live_segment', 'time_to_live', 'time_to_notify'] as const;
type Kind = (typeof KINDS)[number];
/** Types beltline brings along; the API refuses to change them (src/eventtypes/definition.ts). */
const BUILT_IN = new Set(['snowplow', 'profile-ttl', 'profile-ttn']);

interface EventType {
  name: string;
  displayName: string;
  description?: string;
  type: Kind;
  eventIdExpression: string;
  timestampExpression: string;
  correlationIdExpression: string;
  eventstoreTTL?: string;
  schema?: Record<string, unknown>;
  schemaVersion?: number;
}

interface StoredEvent {
  eventId: string;
  correlationId: string;
  created: string;
  headers: Record<string, unknown>;
  payload: unknown;
}

interface EventPage {
  events: StoredEvent[];
  next: string | null;
}

/** Seed 001's Steps 2 and 3: the project's event types, a form for them, and each one's events. */
export function EventTypesPage({ project }: PageProps) {
  const list = useLoad(() => api<EventType[]>('GET', projectPath('/event-types', project)), [project]);
  const [editing, setEditing] = useState<EventType | 'new'>();
  const [browsing, setBrowsing] = useState<string[]>([]);
  const toggle = (name: string): void => setBrowsing((b) => (b.includes(name) ? b.filter((n) => n !== name) : [...b, name]));
  const types = list.data ?? [];
  return (
    <div>
      <Section
        title="Event types"
        actions={
          <button type="button" onClick={() => setEditing('new')} disabled={editing === 'new'}>
            New event type
          </button>
        }
      >
        <ErrorBox error={list.error} />
        {types.length === 0 ? (
          <p class="muted">{list.loading ? 'loading…' : 'no event types yet'}</p>
        ) : (
          <div class="table-wrap">
            <table class="data">
              <thead>
                <tr>
                  <th>name</th>
                  <th>displayName</th>
                  <th>kind</th>
                  <th>schema</th>
                  <th>eventstoreTTL</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {types.map((t) => (
                  <tr key={t.name} data-type={t.name}>
                    <td>{t.name}</td>
                    <td>{t.displayName}</td>
                    <td>
                      <span class="badge">{t.type}</span>
                    </td>
                    <td>{schemaSummary(t)}</td>
                    <td>{t.eventstoreTTL ?? ''}</td>
                    <td class="row-actions">
                      {!BUILT_IN.has(t.name) && (
                        <button type="button" class="secondary" onClick={() => setEditing(t)}>
                          Edit
                        </button>
                      )}
                      <button type="button" class="secondary" aria-pressed={browsing.includes(t.name)} onClick={() => toggle(t.name)}>
                        {browsing.includes(t.name) ? 'Hide events' : 'Show events'}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      {editing && (
        <EventTypeForm
          key={editing === 'new' ? '(new)' : editing.name}
          project={project}
          existing={editing === 'new' ? undefined : editing}
          onCancel={() => setEditing(undefined)}
          onSaved={() => {
            setEditing(undefined);
            list.reload();
          }}
        />
      )}
      {browsing.map((name) => (
        <EventBrowser key={name} project={project} type={name} onClose={() => toggle(name)} />
      ))}
    </div>
  );
}

function schemaSummary(t: EventType): string {
  if (!t.schema) return '';
  const props = t.schema.properties;
  const names = props && typeof props === 'object' ? Object.keys(props) : [];
  return `v${t.schemaVersion ?? 1}: ${names.join(', ')}`;
}

/** The rule the server adds for a live segment's schema (src/segments/columns.ts idProblem): `id` is the row's key. */
function segmentRules(schema: Record<string, unknown>, ranges: Map<string, Range>): Problem[] {
  const props = schema.properties;
  const id = props && typeof props === 'object' ? (props as Record<string, unknown>).id : undefined;
  const place = ranges.get('/properties') ?? ranges.get('') ?? { from: 0, to: 0 };
  if (!id || typeof id !== 'object') return [{ ...place, message: 'a live segment\'s schema must define the property "id" (the row\'s primary key), of type string' }];
  const type = (id as Record<string, unknown>).type;
  if (type === undefined || type === 'string' || type === 'integer') return [];
  return [{ ...(ranges.get('/properties/id/type') ?? place), message: `property "id" must be of type string (the row's primary key), not ${JSON.stringify(type)}` }];
}

const SEGMENT_EXAMPLE = `{
  "type": "object",
  "required": ["id"],
  "properties": {
    "id": { "type": "string" }
  },
  "additionalProperties": true
}
`;

interface Failure {
  message: string;
  /** The 409 of an incompatible schema change: each change, and the version in force. */
  changes: string[];
  version?: number;
}

function failureOf(err: unknown): Failure {
  if (!(err instanceof ApiError)) return { message: describe(err), changes: [] };
  const d = (err.body.details ?? {}) as { changes?: unknown; version?: unknown };
  const changes = Array.isArray(d.changes) ? d.changes.filter((c): c is string => typeof c === 'string') : [];
  return { message: describe(err), changes, version: typeof d.version === 'number' ? d.version : undefined };
}

function EventTypeForm({ project, existing, onSaved, onCancel }: { project: string; existing?: EventType; onSaved: () => void; onCancel: () => void }) {
  const [fields, setFields] = useState({
    name: existing?.name ?? '',
    displayName: existing?.displayName ?? '',
    description: existing?.description ?? '',
    eventIdExpression: existing?.eventIdExpression ?? '#randomUUID()',
    timestampExpression: existing?.timestampExpression ?? '#nowMillis()',
    correlationIdExpression: existing?.correlationIdExpression ?? '#randomUUID()',
    eventstoreTTL: existing?.eventstoreTTL ?? '',
  });
  const [kind, setKind] = useState<Kind>(existing?.type ?? 'data_in');
  const [schemaText, setSchemaText] = useState(existing?.schema ? `${JSON.stringify(existing.schema, null, 2)}\n` : SEGMENT_EXAMPLE);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure>();
  const withSchema = kind === 'live_segment';
  const problems = useMemo(() => (withSchema ? schemaProblems(schemaText, segmentRules) : []), [withSchema, schemaText]);
  const lint = (text: string): Diagnostic[] => schemaProblems(text, segmentRules).map((p) => ({ from: p.from, to: p.to, severity: 'error', message: p.message }));
  const set = (k: keyof typeof fields) => (e: Event) => setFields((f) => ({ ...f, [k]: (e.target as HTMLInputElement).value }));

  const save = async (schemaVersion?: number): Promise<void> => {
    const body: Record<string, unknown> = {
      displayName: fields.displayName,
      description: fields.description,
      type: kind,
      eventIdExpression: fields.eventIdExpression,
      timestampExpression: fields.timestampExpression,
      correlationIdExpression: fields.correlationIdExpression,
    };
    if (!existing && fields.name.trim()) body.name = fields.name.trim();
    if (fields.eventstoreTTL.trim()) body.eventstoreTTL = fields.eventstoreTTL.trim();
    if (withSchema) body.schema = JSON.parse(schemaText) as unknown;
    if (schemaVersion !== undefined) body.schemaVersion = schemaVersion;
    setBusy(true);
    setFailure(undefined);
    try {
      if (existing) await api('PUT', projectPath(`/event-types/${encodeURIComponent(existing.name)}`, project), body);
      else await api('POST', projectPath('/event-types', project), body);
      onSaved();
    } catch (err) {
      setFailure(failureOf(err));
    } finally {
      setBusy(false);
    }
  };
  const submit = (e: Event): void => {
    e.preventDefault();
    void save();
  };
  const format = (): void => {
    const pretty = formatJson(schemaText);
    if (pretty !== undefined) setSchemaText(pretty);
  };

  return (
    <Section title={existing ? `Edit event type ${existing.name}` : 'New event type'}>
      <form class="type-form" onSubmit={submit}>
        <div class="grid-form">
          <label>
            Display name <input name="displayName" value={fields.displayName} onInput={set('displayName')} required />
          </label>
          <label>
            Name{' '}
            <input name="name" value={existing ? existing.name : fields.name} onInput={set('name')} disabled={!!existing} placeholder="derived from the display name" pattern="[a-z0-9][a-z0-9_\-]{0,62}" />
          </label>
          <label>
            Kind{' '}
            <select name="type" value={kind} disabled={!!existing} onChange={(e) => setKind((e.target as HTMLSelectElement).value as Kind)}>
              {KINDS.map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
          <label>
            Description <input name="description" value={fields.description} onInput={set('description')} />
          </label>
          <label>
            Event id <input name="eventIdExpression" value={fields.eventIdExpression} onInput={set('eventIdExpression')} />
          </label>
          <label>
            Timestamp <input name="timestampExpression" value={fields.timestampExpression} onInput={set('timestampExpression')} />
          </label>
          <label>
            Correlation id <input name="correlationIdExpression" value={fields.correlationIdExpression} onInput={set('correlationIdExpression')} />
          </label>
          <label>
            Event store TTL <input name="eventstoreTTL" value={fields.eventstoreTTL} onInput={set('eventstoreTTL')} placeholder="e.g. P30D (kept forever when empty)" />
          </label>
        </div>
        <p class="muted">Expressions: #randomUUID(), #nowMillis(), #snowplowUser() or a JSON path into the event such as $.userId.</p>
        {withSchema && (
          <div class="schema-field">
            <div class="row">
              <strong>JSON Schema of the segment's rows</strong>
              {existing?.schemaVersion !== undefined && <span class="muted">version {existing.schemaVersion} in force</span>}
              <button type="button" class="secondary" onClick={format} disabled={problems.length > 0}>
                Format
              </button>
            </div>
            <Editor label="schema" language="json" value={schemaText} onChange={setSchemaText} lint={lint} />
            {problems.length > 0 ? (
              <ul class="problems" aria-label="schema problems">
                {problems.map((p, i) => (
                  <li key={i}>{p.message}</li>
                ))}
              </ul>
            ) : (
              <p class="ok schema-ok">a valid JSON Schema</p>
            )}
          </div>
        )}
        <div class="row">
          <button type="submit" disabled={busy || problems.length > 0}>
            {existing ? 'Save' : 'Create'}
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
      {failure && (
        <div class="error server-refusal" role="alert">
          <div>{failure.message}</div>
          {failure.changes.length > 0 && (
            <ul class="changes">
              {failure.changes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          )}
          {failure.version !== undefined && existing && (
            <button type="button" class="secondary" disabled={busy} onClick={() => void save((failure.version ?? 0) + 1)}>
              Save as version {failure.version + 1} (a new table; version {failure.version} stays as it is)
            </button>
          )}
        </div>
      )}
    </Section>
  );
}

const PAGE_SIZE = 20;
const LIVE_MS = 2000;

/** A type's events, newest first, reloaded every LIVE_MS while open: new ones come in at the top. */
function EventBrowser({ project, type, onClose }: { project: string; type: string; onClose: () => void }) {
  const [paging, setPaging] = useState<Paging>(NEWEST);
  const [filter, setFilter] = useState('');
  const [draft, setDraft] = useState('');
  const [selected, setSelected] = useState<StoredEvent>();
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const shown = useRef<{ key: string; events: StoredEvent[] } | undefined>(undefined);
  const key = `${filter}|${cursorOf(paging) ?? ''}`;
  const page = useLoad(
    () => {
      const q = new URLSearchParams({ order: 'desc', limit: String(PAGE_SIZE) });
      const after = cursorOf(paging);
      if (after) q.set('after', after);
      if (filter) q.set('correlationId', filter);
      return api<EventPage>('GET', projectPath(`/event-types/${encodeURIComponent(type)}/events?${q.toString()}`, project)).then((p) => ({ key, page: p }));
    },
    [project, type, key],
    LIVE_MS,
  );
  useEffect(() => {
    const d = page.data;
    if (!d || d.key !== key) return;
    // Only a reload of the same page has arrivals; another page or filter is all new, none marked.
    setFresh(arrivals(shown.current?.key === d.key ? shown.current.events : undefined, d.page.events));
    shown.current = { key: d.key, events: d.page.events };
  }, [page.data]);
  const current = page.data?.key === key ? page.data.page : undefined;
  const events = current?.events ?? [];
  const applyFilter = (e: Event): void => {
    e.preventDefault();
    setFilter(draft.trim());
    setPaging(NEWEST);
  };

  return (
    <div data-browser={type}>
      <Section
        title={`Events of ${type}`}
        actions={
          <>
            <span class="muted live">live · page {pageNumber(paging)}</span>
            <button type="button" class="secondary" onClick={() => setPaging(newer(paging))} disabled={paging.stack.length === 0}>
              Newer
            </button>
            <button type="button" class="secondary" onClick={() => setPaging(older(paging, current?.next ?? null))} disabled={!current?.next}>
              Older
            </button>
            <button type="button" class="link" onClick={onClose}>
              Close
            </button>
          </>
        }
      >
        <form class="row" onSubmit={applyFilter}>
          <label>
            Correlation id <input name="correlationId" value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} placeholder="all events" />
          </label>
          <button type="submit" class="secondary">
            Filter
          </button>
          {filter && (
            <button
              type="button"
              class="link"
              onClick={() => {
                setDraft('');
                setFilter('');
                setPaging(NEWEST);
              }}
            >
              Clear filter
            </button>
          )}
        </form>
        <ErrorBox error={page.error} />
        {events.length === 0 ? (
          <p class="muted">{current ? (filter ? `no events with correlation id ${filter}` : 'no events yet') : 'loading…'}</p>
        ) : (
          <div class="browser">
            <div class="table-wrap">
              <table class="data events">
                <thead>
                  <tr>
                    <th>created</th>
                    <th>eventId</th>
                    <th>correlationId</th>
                    <th>payload</th>
                  </tr>
                </thead>
                <tbody>
                  {events.map((e) => (
                    <tr
                      key={e.eventId}
                      data-event={e.eventId}
                      class={[selected?.eventId === e.eventId ? 'selected' : '', fresh.has(e.eventId) ? 'fresh' : ''].join(' ').trim()}
                      onClick={() => setSelected(e)}
                    >
                      <td>{e.created}</td>
                      <td>{e.eventId}</td>
                      <td>{e.correlationId}</td>
                      <td class="preview">{JSON.stringify(e.payload)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {selected && (
              <div class="event-view">
                <div class="row">
                  <strong>Event {selected.eventId}</strong>
                  <button type="button" class="link" onClick={() => setSelected(undefined)}>
                    close
                  </button>
                </div>
                <JsonView value={selected} />
              </div>
            )}
          </div>
        )}
      </Section>
    </div>
  );
}
