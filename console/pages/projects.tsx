import { useState } from 'preact/hooks';
import { api } from '../api';
import { useAction, useLoad } from '../hooks';
import { DataTable, ErrorBox, JsonView, Section } from '../components/ui';
import type { PageProps } from './index';

interface Project {
  name: string;
  displayName: string;
  schema: string;
  requireWriteKey: boolean;
  createdAt: string;
}

/** Seed 001's Step 1: the projects of the instance, and a new one with its keys (shown once). */
export function ProjectsPage({ instance, project }: PageProps) {
  const list = useLoad(() => (instance ? api<Project[]>('GET', '/projects') : api<Project>('GET', `/projects/${encodeURIComponent(project)}`).then((p) => [p])), [instance, project]);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<unknown>();
  const create = useAction();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const ok = await create.run(async () => setCreated(await api('POST', '/projects', { name })));
    if (ok) {
      setName('');
      list.reload();
    }
  };
  return (
    <div>
      <Section title="Projects">
        <ErrorBox error={list.error} />
        <DataTable rows={(list.data ?? []).map((p) => ({ ...p }))} columns={['name', 'displayName', 'schema', 'requireWriteKey', 'createdAt']} />
      </Section>
      {instance && (
        <Section title="New project">
          <form onSubmit={(e) => void submit(e)} class="row">
            <label>
              Name <input name="project-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="shop" required />
            </label>
            <button type="submit" disabled={create.busy}>
              Create project
            </button>
          </form>
          <ErrorBox error={create.error} />
          {created !== undefined && (
            <div class="notice">
              <p>Its keys are shown this once; keep them now.</p>
              <JsonView value={created} />
            </div>
          )}
        </Section>
      )}
    </div>
  );
}
