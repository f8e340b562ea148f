import { useCallback, useEffect, useState } from 'preact/hooks';
import { describe } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads something on mount and whenever `deps` change; with `everyMs`, again on that period
 * (live views), skipping a tick while the previous load is still out.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    // Per effect, not per component: a reload while a poll is out must load, not be skipped.
    let busy = false;
    const run = (): void => {
      if (busy) return;
      busy = true;
      load()
        .then((d) => {
          if (!live) return;
          setData(d);
          setError(undefined);
        })
        .catch((e: unknown) => live && setError(describe(e)))
        .finally(() => {
          busy = false;
          if (live) setLoading(false);
        });
    };
    run();
    const timer = everyMs ? setInterval(run, everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [...deps, tick]);
  return { data, error, loading, reload };
}

/** Runs an action (a button's), remembering its failure to show and whether it is under way. */
export function useAction(): { busy: boolean; error: string | undefined; run: (f: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await f();
      return true;
    } catch (e) {
      setError(describe(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(undefined) };
}
