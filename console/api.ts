/** The console's one way to the REST API: the same routes as curl and the CLI, with the signed-in key. */

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/** An answer of 4xx/5xx, in the API's shared error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.message);
  }
}

const KEY = 'beltline.key';
const PROJECT = 'beltline.project';

/** The key lives in sessionStorage: gone with the tab, never in a cookie the browser sends by itself. */
export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  project: (): string => sessionStorage.getItem(PROJECT) ?? 'default',
  signIn(key: string, project: string): void {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(PROJECT, project);
  },
  setProject(project: string): void {
    sessionStorage.setItem(PROJECT, project);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(PROJECT);
  },
};

async function parse(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  const type = res.headers.get('content-type') ?? '';
  return type.includes('json') ? JSON.parse(text) : text;
}

/** Calls the API; a non-2xx answer is thrown as an ApiError carrying the server's own message. */
export async function api<T>(method: string, path: string, body?: unknown, key: string | null = session.key()): Promise<T> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await parse(res);
  if (!res.ok) {
    const err = data && typeof data === 'object' && 'message' in data ? (data as ApiErrorBody) : { error: `http_${res.status}`, message: typeof data === 'string' && data ? data : res.statusText };
    throw new ApiError(res.status, err);
  }
  return data as T;
}

/** `/projects/<current project><rest>`: every project route of the API. */
export function projectPath(rest: string, project = session.project()): string {
  return `/projects/${encodeURIComponent(project)}${rest}`;
}

/** Something to show of any failure: the API's message, or the error's. */
export function describe(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.body.error}: ${err.body.message}`;
  return err instanceof Error ? err.message : String(err);
}
