import { useEffect, useState } from 'preact/hooks';

/**
 * The URL is the view's state: the path names the page, the query string its filters, so any
 * view can be bookmarked or shared. `navigate` pushes a new entry; `setParams` replaces the
 * current one (typing in a filter does not flood the history).
 */
export interface Location {
  path: string;
  params: URLSearchParams;
}

const listeners = new Set<() => void>();
const read = (): Location => ({
  path: window.location.pathname,
  params: new URLSearchParams(window.location.search),
});

window.addEventListener('popstate', () => {
  for (const l of listeners) l();
});

export function navigate(to: string, o: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (o.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const l of listeners) l();
  if (!o.replace) window.scrollTo(0, 0);
}

/** Changes query parameters of the current page (undefined or '' removes one). */
export function setParams(
  changes: Record<string, string | string[] | undefined>,
  o: { push?: boolean } = {},
): void {
  const params = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    params.delete(k);
    if (Array.isArray(v)) for (const x of v) params.append(k, x);
    else if (v !== undefined && v !== '') params.set(k, v);
  }
  const s = params.toString();
  navigate(`${window.location.pathname}${s ? `?${s}` : ''}`, { replace: !o.push });
}

export function useLocation(): Location {
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const update = () => setLocation(read());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return location;
}

/** A page path matched against a pattern with `:name` segments; the decoded names, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (pattern === '/') return path === '/' || path === '' ? {} : null;
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] as string;
    const val = s[i] as string;
    if (seg.startsWith(':')) out[seg.slice(1)] = decodeSafe(val);
    else if (seg !== val) return null;
  }
  return out;
}

/** An in-app link: a normal anchor (middle-click, copy link work) that navigates without a reload. */
export function onLinkClick(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href);
  if (url.origin !== window.location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
}

/** decodeURIComponent that keeps a malformed escape (`%E0`) as it is instead of throwing. */
export function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
