import { useEffect, useState } from 'preact/hooks';
import { type ApiError, api, setCsrfToken, whenSignedOut } from './api';
import { Link, Loading } from './components/state';
import { AccountPage } from './pages/account';
import { FunnelsPage } from './pages/funnels';
import { JourneyMapPage } from './pages/journey-map';
import { ListPage } from './pages/list';
import { LivePage } from './pages/live';
import { OverviewPage } from './pages/overview';
import { PersonPage } from './pages/person';
import { RetentionPage } from './pages/retention';
import { SettingsPage } from './pages/settings';
import { SignIn } from './pages/sign-in';
import { StagesPage } from './pages/stages';
import { decodeSafe, match, navigate, useLocation } from './router';
import type { Session } from './types';

const NAV = [
  { href: '/', label: 'Overview', active: (p: string) => p === '/' },
  { href: '/people', label: 'People', active: (p: string) => p.startsWith('/people') },
  { href: '/accounts', label: 'Accounts', active: (p: string) => p.startsWith('/accounts') },
  { href: '/funnels', label: 'Funnels', active: (p: string) => p === '/funnels' },
  { href: '/journey-map', label: 'Journey map', active: (p: string) => p === '/journey-map' },
  { href: '/stages', label: 'Stages', active: (p: string) => p === '/stages' },
  { href: '/retention', label: 'Retention', active: (p: string) => p === '/retention' },
  { href: '/live', label: 'Live events', active: (p: string) => p === '/live' },
  { href: '/settings', label: 'Settings', active: (p: string) => p === '/settings' },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const location = useLocation();
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    api<Session>('/api/session')
      .then((s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      })
      .catch(() => setSession(null));
  }, []);

  if (session === undefined) return <Loading what="the dashboard" />;
  if (session === null)
    return (
      <SignIn
        onSignedIn={(s) => {
          setCsrfToken(s.csrfToken);
          setSession(s);
          if (location.path === '/sign-in') navigate('/');
        }}
      />
    );

  const switchTo = async (workspace: string) => {
    const s = await api<Session>('/api/session/workspace', { method: 'PUT', body: { workspace } });
    setSession(s);
    navigate('/');
  };
  const signOut = async () => {
    await api('/api/session', { method: 'DELETE' }).catch((e: ApiError) => e);
    setCsrfToken(undefined);
    setSession(null);
  };

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="nav" aria-label="Main">
        <div class="brand">Throughline</div>
        {NAV.map((n) => (
          <a
            key={n.href}
            href={n.href}
            aria-current={n.active(location.path) ? 'page' : undefined}
            onClick={(e) => {
              if (e.button !== 0 || e.metaKey || e.ctrlKey) return;
              e.preventDefault();
              navigate(n.href);
            }}
          >
            {n.label}
          </a>
        ))}
        <div class="spacer" />
        {session.workspaces.length > 1 ? (
          <label style={{ color: '#d1d5db' }}>
            Workspace
            <select
              value={session.workspace ?? ''}
              onChange={(e) => void switchTo((e.target as HTMLSelectElement).value)}
            >
              {session.workspaces.map((w) => (
                <option key={w} value={w}>
                  {w}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <p class="small" style={{ color: '#9ca3af', padding: '0 12px' }}>
            Workspace <span class="mono">{session.workspace}</span>
          </p>
        )}
        <AddWorkspace onAdded={(s) => setSession(s)} />
        <button type="button" class="secondary" onClick={() => void signOut()}>
          Sign out
        </button>
      </nav>
      <main id="main" class="main">
        {/* Keyed by workspace: switching workspaces reloads every view, even on the same path. */}
        <Page key={session.workspace ?? ''} path={location.path} />
      </main>
    </div>
  );
}

/** Sign in with another workspace's admin key too: the sidebar then switches between them. */
function AddWorkspace({ onAdded }: { onAdded: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <details class="small" style={{ color: '#d1d5db' }}>
      <summary>Add a workspace</summary>
      <form
        class="stack"
        style={{ gap: '8px', marginTop: '8px' }}
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          api<Session>('/api/session', { method: 'POST', body: { key } })
            .then((s) => {
              setCsrfToken(s.csrfToken);
              setKey('');
              onAdded(s);
              navigate('/');
            })
            .catch((err: Error) => setError(err.message));
        }}
      >
        <label style={{ color: '#d1d5db' }}>
          Its admin key
          <input type="password" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        </label>
        {error && (
          <p class="small" role="alert" style={{ color: '#fecaca' }}>
            {error}
          </p>
        )}
        <button type="submit" disabled={key.trim() === ''}>
          Add
        </button>
      </form>
    </details>
  );
}

const TITLES: [string, string][] = [
  ['/', 'Overview'],
  ['/people', 'People'],
  ['/accounts', 'Accounts'],
  ['/funnels', 'Funnels'],
  ['/journey-map', 'Journey map'],
  ['/stages', 'Stages'],
  ['/retention', 'Retention'],
  ['/live', 'Live events'],
  ['/settings', 'Settings'],
];

function Page({ path }: { path: string }) {
  // The tab's title names the page (a profile: its reference).
  useEffect(() => {
    const named = TITLES.find(([p]) => p === path)?.[1] ?? decodeSafe(path.split('/').pop() ?? '');
    document.title = `${named} · Throughline`;
  }, [path]);
  if (match('/', path) || match('/sign-in', path)) return <OverviewPage />;
  if (match('/people', path)) return <ListPage subject="person" />;
  if (match('/accounts', path)) return <ListPage subject="account" />;
  const person = match('/people/:ref', path);
  if (person) return <PersonPage key={person.ref} personRef={person.ref as string} />;
  const account = match('/accounts/:id', path);
  if (account) return <AccountPage key={account.id} id={account.id as string} />;
  if (match('/funnels', path)) return <FunnelsPage />;
  if (match('/journey-map', path)) return <JourneyMapPage />;
  if (match('/stages', path)) return <StagesPage />;
  if (match('/retention', path)) return <RetentionPage />;
  if (match('/live', path)) return <LivePage />;
  if (match('/settings', path)) return <SettingsPage />;
  return (
    <div class="notice">
      <h1>Page not found</h1>
      <p>
        Nothing lives at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </div>
  );
}
