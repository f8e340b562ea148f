import { useState } from 'preact/hooks';
import { api, projectPath } from '../api';
import { useAction, useLoad } from '../hooks';
import { Editor } from '../components/editor';
import { ErrorBox, Section, StateBadge } from '../components/ui';
import { href, navigate } from '../router';
import type { PageProps } from './index';

interface Harvester {
  name: string;
  displayName: string;
  source: { kind: 'collector' } | { kind: SourceKind; topic: string };
  script: string;
  eventType: string;
  running: boolean;
}

/** Sources that read a Kafka topic: JSON records, or a Snowplow pipeline's enriched TSV. */
type SourceKind = 'kafka' | 'snowplow-enriched';
type Source = 'collector' | SourceKind;

/** How the list names a harvester's source. Pure. */
export function sourceLabel(source: Harvester['source']): string {
  if (source.kind === 'collector') return 'collector';
  return `${source.kind === 'kafka' ? 'Kafka' : 'Snowplow enriched'}: ${source.topic}`;
}

interface EventTypeRow {
  name: string;
  type: string;
}

const STARTER = `// Keep the event (as is or mapped), return a list, or null to drop it.
function transform(event, headers) {
  return event;
}
`;

/** The API body for a form's fields: seed 001's shape (displayName, sourceType, transform, eventType). Pure. */
export function harvesterBody(f: { displayName: string; name: string; source: Source; topic: string; script: string; eventType: string; running: boolean }): Record<string, unknown> {
  return {
    displayName: f.displayName,
    ...(f.name ? { name: f.name } : {}),
    sourceType: f.source === 'collector' ? { name: 'collector' } : { name: f.source, topic: f.topic },
    transform: { language: 'javascript', script: f.script },
    eventType: { name: f.eventType },
    running: f.running,
  };
}

function Form({ existing, types, onSaved }: { existing?: Harvester; types: EventTypeRow[]; onSaved: (h: Harvester) => void }) {
  const [displayName, setDisplayName] = useState(existing?.displayName ?? '');
  const [name, setName] = useState(existing?.name ?? '');
  const [source, setSource] = useState<Source>(existing?.source.kind ?? 'collector');
  const [topic, setTopic] = useState(existing && existing.source.kind !== 'collector' ? existing.source.topic : '');
  const [script, setScript] = useState(existing?.script ?? STARTER);
  const inputs = types.filter((t) => t.type === 'data_in');
  const [eventType, setEventType] = useState(existing?.eventType ?? inputs[0]?.name ?? '');
  const save = useAction();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const body = harvesterBody({ displayName, name, source, topic, script, eventType, running: existing?.running ?? true });
    await save.run(async () => onSaved(existing ? await api<Harvester>('PUT', projectPath(`/harvesters/${encodeURIComponent(existing.name)}`), body) : await api<Harvester>('POST', projectPath('/harvesters'), body)));
  };
  const text = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return (
    <Section title={existing ? `Harvester ${existing.name}` : 'New harvester'}>
      <form onSubmit={(e) => void submit(e)}>
        <div class="row">
          <label>
            Display name <input name="displayName" value={displayName} onInput={text(setDisplayName)} required />
          </label>
          {!existing && (
            <label>
              Name <input name="name" value={name} onInput={text(setName)} placeholder="from the display name" />
            </label>
          )}
          <label>
            Source{' '}
            <select name="source" value={source} onChange={(e) => setSource((e.target as HTMLSelectElement).value as Source)}>
              <option value="collector">the collector (tracker events)</option>
              <option value="kafka">a Kafka topic</option>
              <option value="snowplow-enriched">a Snowplow pipeline's enriched TSV topic</option>
            </select>
          </label>
          {source !== 'collector' && (
            <label>
              Topic <input name="topic" value={topic} onInput={text(setTopic)} required />
            </label>
          )}
          <label>
            Event type{' '}
            <select name="eventType" value={eventType} onChange={(e) => setEventType((e.target as HTMLSelectElement).value)}>
              {inputs.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <p class="muted">The transform is JavaScript run in the belt sandbox: `function transform(event, headers)` returns the event to keep, a list, or null to drop it.</p>
        <Editor value={script} onChange={setScript} language="javascript" label="harvester transform" minHeight="8rem" />
        <div class="row">
          <button type="submit" disabled={save.busy}>
            {existing ? 'Save' : 'Create and start'}
          </button>
        </div>
        <ErrorBox error={save.error} />
      </form>
    </Section>
  );
}

/** Harvesters (seed 001, step 4): what feeds an event type, from the collector or a Kafka topic. */
export function HarvestersPage({ route }: PageProps) {
  const list = useLoad(() => api<Harvester[]>('GET', projectPath('/harvesters')), [], 5000);
  const types = useLoad(() => api<EventTypeRow[]>('GET', projectPath('/event-types')), []);
  const toggle = useAction();
  const selected = route.rest[0];
  const editing = selected && selected !== '_new' ? list.data?.find((h) => h.name === selected) : undefined;
  const flip = async (h: Harvester): Promise<void> => {
    if (await toggle.run(() => api('POST', projectPath(`/harvesters/${encodeURIComponent(h.name)}/${h.running ? 'stop' : 'start'}`)))) list.reload();
  };
  return (
    <div>
      <Section
        title="Harvesters"
        actions={
          <button type="button" onClick={() => navigate('harvesters', '_new')}>
            New harvester
          </button>
        }
      >
        <ErrorBox error={list.error ?? toggle.error} />
        {list.data && list.data.length === 0 && <p class="muted">no harvesters: events reach a type only through one (or POST /api/v1/events/&lt;type&gt;)</p>}
        {list.data && list.data.length > 0 && (
          <table class="data">
            <thead>
              <tr>
                <th>name</th>
                <th>state</th>
                <th>source</th>
                <th>event type</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data.map((h) => (
                <tr key={h.name} data-harvester={h.name}>
                  <td>
                    <a href={href('harvesters', h.name)}>{h.name}</a>
                  </td>
                  <td>
                    <StateBadge state={h.running ? 'running' : 'stopped'} />
                  </td>
                  <td>{sourceLabel(h.source)}</td>
                  <td>{h.eventType}</td>
                  <td>
                    <button type="button" class="secondary" onClick={() => void flip(h)} disabled={toggle.busy}>
                      {h.running ? 'Stop' : 'Start'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Section>
      {types.data && (selected === '_new' || editing) && (
        <Form
          key={selected}
          existing={editing}
          types={types.data}
          onSaved={(h) => {
            list.reload();
            navigate('harvesters', h.name);
          }}
        />
      )}
    </div>
  );
}
