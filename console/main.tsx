import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, describe, session } from './api';
import { exposeEditors } from './components/editor';
import { ErrorBox } from './components/ui';
import { pages } from './pages/index';
import { href, useRoute } from './router';

interface WhoAmI {
  scope: 'instance' | 'project';
  project?: string;
}

function SignIn({ onSignedIn }: { onSignedIn: (who: WhoAmI) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    try {
      const who = await api<WhoAmI>('GET', '/whoami', undefined, key.trim());
      session.signIn(key.trim(), who.project ?? 'default');
      onSignedIn(who);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <main class="signin">
      <h1>beltline</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label>
          Admin key
          <input name="key" type="password" autocomplete="off" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} placeholder="the instance admin key, or a project's admin key" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <ErrorBox error={error} />
      <p class="muted">`npm start` prints the instance admin key; `POST /projects` shows a project's keys once.</p>
    </main>
  );
}

function Shell({ who, onSignOut }: { who: WhoAmI; onSignOut: () => void }) {
  const route = useRoute();
  const instance = who.scope === 'instance';
  const [project, setProject] = useState(session.project());
  const projects = useProjectNames(instance);
  const visible = pages.filter((p) => instance || !p.instanceOnly);
  const page = visible.find((p) => p.id === route.page) ?? visible[0];
  const Page = page.component;
  const choose = (p: string): void => {
    session.setProject(p);
    setProject(p);
  };
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">beltline</span>
        <label class="project">
          Project{' '}
          {instance ? (
            <select name="project" value={project} onChange={(e) => choose((e.target as HTMLSelectElement).value)}>
              {[...new Set([project, ...projects])].map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          ) : (
            <strong>{project}</strong>
          )}
        </label>
        <button type="button" class="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <nav class="side">
        {visible.map((p) => (
          <a key={p.id} href={href(p.id)} class={p.id === page.id ? 'active' : ''}>
            {p.title}
          </a>
        ))}
      </nav>
      <main class="content" data-page={page.id}>
        <Page key={`${page.id}:${project}`} route={route} project={project} instance={instance} />
      </main>
    </div>
  );
}

function useProjectNames(instance: boolean): string[] {
  const [names, setNames] = useState<string[]>([]);
  useEffect(() => {
    if (!instance) return;
    api<{ name: string }[]>('GET', '/projects')
      .then((ps) => setNames(ps.map((p) => p.name)))
      .catch(() => setNames([]));
  }, [instance]);
  return names;
}

function App() {
  const [who, setWho] = useState<WhoAmI>();
  const [checking, setChecking] = useState(session.key() !== null);
  useEffect(() => {
    // A reload keeps the tab's key: ask again what it opens (it may have been rotated meanwhile).
    if (!session.key()) return;
    api<WhoAmI>('GET', '/whoami')
      .then(setWho)
      .catch(() => session.signOut())
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p class="muted">…</p>;
  if (!who) return <SignIn onSignedIn={setWho} />;
  return (
    <Shell
      who={who}
      onSignOut={() => {
        session.signOut();
        setWho(undefined);
      }}
    />
  );
}

exposeEditors();
render(<App />, document.getElementById('app') as HTMLElement);
