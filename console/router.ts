import { useEffect, useState } from 'preact/hooks';

/** The console's location: `#/<page>/<rest…>?<query>`, so a reload or a shared link lands on the same view. */
export interface Route {
  page: string;
  rest: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  return { page: parts[0] ?? '', rest: parts.slice(1), query: new URLSearchParams(q) };
}

export function href(page: string, ...rest: string[]): string {
  return `#/${[page, ...rest].map((p) => encodeURIComponent(p)).join('/')}`;
}

export function navigate(page: string, ...rest: string[]): void {
  location.hash = href(page, ...rest);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
