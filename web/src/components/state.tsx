import { type ComponentChildren, Fragment } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { onLinkClick } from '../router';

/** What a request for a view gives: loading, its data, or the error to show. */
export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `path` from the API and again whenever it changes (null: nothing to load). A newer
 * request aborts the one before, so fast filter changes never show stale answers.
 */
export function useApi<T>(path: string | null, o: { refreshMs?: number } = {}): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: path !== null,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (path === null) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { signal: controller.signal })
      .then((data) => setState({ data, error: undefined, loading: false }))
      .catch((error: Error) => {
        if (error.name !== 'AbortError') setState((s) => ({ data: s.data, error, loading: false }));
      });
    return () => controller.abort();
  }, [path, tick]);
  const refresh = o.refreshMs;
  useEffect(() => {
    if (!refresh) return;
    const timer = window.setInterval(reload, refresh);
    return () => window.clearInterval(timer);
  }, [refresh, reload]);
  return { ...state, reload };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, retry }: { error: Error; retry?: () => void }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="notice error" role="alert">
      <strong>{code === 'not_found' ? 'Not found' : 'Something went wrong'}.</strong> {error.message}
      {retry && (
        <>
          {' '}
          <button type="button" class="secondary" onClick={retry}>
            Try again
          </button>
        </>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="notice empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

/** The three states of a loaded view, then the view itself. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (loaded.error && loaded.data === undefined)
    return <ErrorBox error={loaded.error} retry={loaded.reload} />;
  if (loaded.data === undefined) return <Loading what={what} />;
  return (
    <>
      {loaded.error && <ErrorBox error={loaded.error} retry={loaded.reload} />}
      {children(loaded.data)}
    </>
  );
}

export function Link({
  href,
  children,
  class: className,
  ariaLabel,
}: {
  href: string;
  children: ComponentChildren;
  class?: string;
  ariaLabel?: string;
}) {
  return (
    <a href={href} onClick={onLinkClick} class={className} aria-label={ariaLabel}>
      {children}
    </a>
  );
}

export const fmt = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : n.toLocaleString('en-US');
export const money = (n: number | null | undefined) =>
  n === null || n === undefined
    ? '—'
    : n.toLocaleString('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
export const when = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }) : '—';
export const day = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleDateString('en-GB', { dateStyle: 'medium' }) : '—';

/** Traits as name and value rows of a `dl.kv` (hover: when each was set, when known). */
export function TraitRows({
  traits,
  updatedAt,
}: {
  traits: Record<string, unknown>;
  updatedAt?: Record<string, string>;
}) {
  return (
    <>
      {Object.entries(traits).map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd title={updatedAt?.[k] ? `set ${when(updatedAt[k])}` : undefined}>
            {typeof v === 'object' ? JSON.stringify(v) : String(v)}
          </dd>
        </Fragment>
      ))}
    </>
  );
}
