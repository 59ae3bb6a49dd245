import { useCallback, useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import type { Loaded } from './state';

/**
 * Posts an analytics query (`/api/analytics/*`) and again whenever it changes (null: nothing to
 * ask). A newer query aborts the one before, so fast form changes never show stale answers.
 */
export function useAnalytics<T>(path: string, body: unknown | null): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: body !== null,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const key = body === null ? null : JSON.stringify(body);
  useEffect(() => {
    if (key === null) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { method: 'POST', body: JSON.parse(key), signal: controller.signal })
      .then((data) => setState({ data, error: undefined, loading: false }))
      .catch((error: Error) => {
        if (error.name !== 'AbortError') setState((s) => ({ data: s.data, error, loading: false }));
      });
    return () => controller.abort();
  }, [path, key, tick]);
  return { ...state, reload };
}
