import { useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import type { Session } from '../types';

/** Sign-in with the admin key: traded for an HttpOnly session cookie, never stored by the page. */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await api<Session>('/api/session', { method: 'POST', body: { key } }));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin card">
      <h1>Sign in to Throughline</h1>
      <p class="muted">
        Paste the workspace's <strong>admin key</strong> (<code>ak_…</code>): the first <code>npm start</code>{' '}
        printed it. Lost it? Stop the server and run <code>./throughline keys create --kind admin</code>.
      </p>
      <form onSubmit={submit} class="stack">
        <label>
          Admin key
          <input
            type="password"
            name="key"
            autocomplete="current-password"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'key-error' : undefined}
            required
          />
        </label>
        {error && (
          <p id="key-error" class="field-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
