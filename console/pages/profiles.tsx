import { useState } from 'preact/hooks';
import { api, projectPath } from '../api';
import { useLoad } from '../hooks';
import { DataTable, ErrorBox, JsonView, Section } from '../components/ui';
import { href, navigate } from '../router';
import type { PageProps } from './index';

interface PathStamp {
  path: string[];
  at: string;
  eventId: string;
  kind: 'value' | 'element';
  element?: unknown;
  deleted: boolean;
  setOnce: boolean;
  withHistory: boolean;
}

interface ProfileDetails {
  id: string;
  requested: string;
  document: Record<string, unknown>;
  updatedAt: string;
  known: boolean;
  stamps: PathStamp[];
  linkedIds: string[];
  history: { path: string[]; value: unknown; validFrom: string; eventId: string; replacedBy: string }[];
  expirations: { path: string[]; kind: 'ttl' | 'ttn'; dueAt: string }[];
}

interface Found {
  id: string;
  updatedAt: string;
}

/** How long until an instant, for people: "in 3 min", "2 s ago". */
export function until(iso: string, now = Date.now()): string {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(s);
  const text = abs < 90 ? `${abs} s` : abs < 5400 ? `${Math.round(abs / 60)} min` : abs < 172800 ? `${Math.round(abs / 3600)} h` : `${Math.round(abs / 86400)} d`;
  return s >= 0 ? `in ${text}` : `${text} ago`;
}

function Lookup({ onId }: { onId: (id: string) => void }) {
  const [id, setId] = useState('');
  const [path, setPath] = useState('');
  const [value, setValue] = useState('');
  const [found, setFound] = useState<Found[]>();
  const [error, setError] = useState<string>();
  const search = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const q = new URLSearchParams({ path, value, limit: '50' });
      setFound(await api<Found[]>('GET', projectPath(`/profiles?${q.toString()}`)));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <Section title="Look up a profile">
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim()) onId(id.trim());
        }}
      >
        <label>
          Id <input name="profile-id" value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} placeholder="a user id, or an anonymous id linked to one" size={40} />
        </label>
        <button type="submit">Open</button>
      </form>
      <form class="row" onSubmit={(e) => void search(e)}>
        <label>
          Path <input name="profile-path" value={path} onInput={(e) => setPath((e.target as HTMLInputElement).value)} placeholder="contact.email" />
        </label>
        <label>
          Value <input name="profile-value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder='a@b.c, or JSON such as 42 or "42"' />
        </label>
        <button type="submit" class="secondary">
          Find
        </button>
      </form>
      <ErrorBox error={error} />
      {found && (
        <div class="found">
          {found.length === 0 ? (
            <p class="muted">no profile has that value there</p>
          ) : (
            <ul>
              {found.map((f) => (
                <li key={f.id}>
                  <a href={href('profiles', f.id)}>{f.id}</a> <span class="muted">updated {f.updatedAt}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Section>
  );
}

function Profile({ id }: { id: string }) {
  const p = useLoad(() => api<ProfileDetails>('GET', projectPath(`/profiles/${encodeURIComponent(id)}/details`)), [id], 5000);
  if (p.error) return <ErrorBox error={p.error} />;
  const d = p.data;
  if (!d) return <p class="muted">loading {id}…</p>;
  const timeline = [...d.history].sort((a, b) => a.validFrom.localeCompare(b.validFrom));
  return (
    <div class="profile" data-profile={d.id}>
      <Section title={`Profile ${d.id}`} actions={<span class="muted">updated {d.updatedAt}</span>}>
        {d.requested !== d.id && (
          <p class="notice">
            {d.requested} is linked to this profile.
          </p>
        )}
        <p>
          {d.known ? 'known (an authenticated id is linked)' : 'anonymous'}
          {d.linkedIds.length > 0 && (
            <>
              {' · linked ids: '}
              {d.linkedIds.map((l, i) => (
                <span key={l}>
                  {i > 0 && ', '}
                  <a href={href('profiles', l)} class="linked-id">
                    {l}
                  </a>
                </span>
              ))}
            </>
          )}
        </p>
        <JsonView value={d.document} />
      </Section>
      <Section title="Stamps: who wrote each path, and when">
        <DataTable
          rows={d.stamps.map((s) => ({
            path: s.path.join('.'),
            element: s.kind === 'element' ? s.element : '',
            at: s.at,
            event: s.eventId,
            how: [s.deleted && 'deleted', s.setOnce && 'set once', s.withHistory && 'with history'].filter(Boolean).join(', '),
          }))}
          columns={['path', 'element', 'at', 'event', 'how']}
        />
      </Section>
      <Section title="History">
        {timeline.length === 0 ? (
          <p class="muted">no replaced values (paths written with _set_with_history keep them)</p>
        ) : (
          <ol class="timeline">
            {timeline.map((h) => (
              <li key={`${h.path.join('.')}:${h.eventId}`}>
                <time>{h.validFrom}</time> <code>{h.path.join('.')}</code> = <code>{JSON.stringify(h.value)}</code>{' '}
                <span class="muted">
                  (event {h.eventId}, replaced by {h.replacedBy})
                </span>
              </li>
            ))}
          </ol>
        )}
      </Section>
      <Section title="Pending expirations">
        <DataTable
          rows={d.expirations.map((x) => ({ path: x.path.join('.'), kind: x.kind === 'ttl' ? 'time to live' : 'time to notify', due: x.dueAt, when: until(x.dueAt) }))}
          columns={['path', 'kind', 'due', 'when']}
          empty="nothing due: no _ttl or _ttn pending"
        />
      </Section>
    </div>
  );
}

/** Profiles: look one up by id or by a value at a path; see its document and what explains it. */
export function ProfilesPage({ route }: PageProps) {
  const id = route.rest[0];
  return (
    <div>
      <Lookup onId={(i) => navigate('profiles', i)} />
      {id && <Profile key={id} id={id} />}
    </div>
  );
}
