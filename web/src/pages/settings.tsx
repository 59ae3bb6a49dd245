import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, api } from '../api';
import { Show, useApi, when } from '../components/state';
import { lineOfMessage, prettyJson } from '../json-lines';
import type { ApiKey } from '../types';

/** Write keys and install snippets; journey and identity settings edited with validation; Stripe. */
export function SettingsPage() {
  const keys = useApi<{ keys: ApiKey[] }>('/api/keys');
  const origin = window.location.origin;
  return (
    <div class="stack">
      <h1>Settings</h1>
      <section class="card" aria-labelledby="install-title">
        <h2 id="install-title">Send events here</h2>
        <Show loaded={keys} what="keys">
          {(k) => {
            const write = k.keys.find((x) => x.kind === 'write' && !x.revokedAt);
            return write ? (
              <Install writeKey={write.key} origin={origin} />
            ) : (
              <p>
                No write key: create one with <code>./throughline keys create --kind write</code>.
              </p>
            );
          }}
        </Show>
      </section>
      <section class="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Keys</h2>
        <Show loaded={keys} what="keys">
          {(k) => (
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Key</th>
                  <th scope="col">Label</th>
                  <th scope="col">Created</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {k.keys.map((x) => (
                  <tr key={x.id}>
                    <td>{x.kind}</td>
                    <td class="mono">{x.key}</td>
                    <td>{x.label ?? ''}</td>
                    <td>{when(x.createdAt)}</td>
                    <td>
                      {x.revokedAt ? (
                        <span class="badge bad">revoked</span>
                      ) : (
                        <span class="badge good">active</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Show>
      </section>
      <JsonSettings
        title="Journeys: channel rules, stage model, sessions, conversions"
        path="/api/journey/settings"
        pick={(d) => (d as { settings: unknown }).settings}
        help="Rules are evaluated in order; see docs/journeys.md. Saving rebuilds the journey tables in the background."
      />
      <JsonSettings
        title="Identity rules"
        path="/api/identity/settings"
        pick={(d) => d}
        help="Identifier limits, priority and blocked values; see docs/identity.md."
      />
      <Stripe />
    </div>
  );
}

function Install({ writeKey, origin }: { writeKey: string; origin: string }) {
  const snippets = {
    'analytics.js (browser)': `npm install @segment/analytics-next

import { AnalyticsBrowser } from '@segment/analytics-next';
// Settings come from this server (cdnURL), and so do the events it sends.
export const analytics = AnalyticsBrowser.load({ writeKey: '${writeKey}', cdnURL: '${origin}' });
analytics.page();
analytics.track('Order Completed', { revenue: 49.5 });`,
    'Segment Node.js': `npm install @segment/analytics-node

import { Analytics } from '@segment/analytics-node';
const analytics = new Analytics({ writeKey: '${writeKey}', host: '${origin}' });
analytics.track({ userId: 'user-42', event: 'Order Completed', properties: { revenue: 49.5 } });`,
    'RudderStack Node.js': `npm install @rudderstack/rudder-sdk-node

import Analytics from '@rudderstack/rudder-sdk-node';
const client = new Analytics('${writeKey}', { dataPlaneUrl: '${origin}' });
client.track({ userId: 'user-42', event: 'Order Completed', properties: { revenue: 49.5 } });`,
    curl: `curl ${origin}/v1/track -u '${writeKey}:' -H 'content-type: application/json' \\
  -d '{"userId":"user-42","event":"Order Completed","properties":{"revenue":49.5}}'`,
  };
  const [tab, setTab] = useState<keyof typeof snippets>('analytics.js (browser)');
  const [copied, setCopied] = useState(false);
  return (
    <div class="stack">
      <p>
        Write key (public, safe in browsers): <code data-testid="write-key">{writeKey}</code>. Events show up
        on the Live page as they arrive.
      </p>
      <div class="tabs" role="tablist" aria-label="Install instructions">
        {(Object.keys(snippets) as (keyof typeof snippets)[]).map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            class={tab === k ? 'tab active' : 'tab'}
            aria-selected={tab === k}
            onClick={() => {
              setTab(k);
              setCopied(false);
            }}
          >
            {k}
          </button>
        ))}
      </div>
      <pre role="tabpanel">{snippets[tab]}</pre>
      <div>
        <button
          type="button"
          class="secondary"
          onClick={() => void navigator.clipboard?.writeText(snippets[tab]).then(() => setCopied(true))}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

/**
 * A settings document edited as JSON and saved with PUT; the server's validation message (which
 * names the path at fault, e.g. `channels.rules[0].when.op`) shows right under the editor.
 */
function JsonSettings({
  title,
  path,
  pick,
  help,
}: {
  title: string;
  path: string;
  pick: (d: unknown) => unknown;
  help: string;
}) {
  const loaded = useApi<unknown>(path);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const editor = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (loaded.data !== undefined && text === null) setText(prettyJson(pick(loaded.data)).text);
  }, [loaded.data]);
  /** Selects a line of the editor (1-based) and scrolls to it. */
  const showLine = (doc: string, line: number) => {
    const el = editor.current;
    if (!el) return;
    const lines = doc.split('\n');
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
    el.scrollTop = Math.max(0, (line - 4) * (el.scrollHeight / Math.max(1, lines.length)));
  };
  const id = path.replace(/\W+/g, '-');
  const save = async () => {
    setError(null);
    setSaved(null);
    let body: unknown;
    try {
      body = JSON.parse(text ?? '');
    } catch (e) {
      setError(`not valid JSON: ${(e as Error).message}`);
      return;
    }
    // Laid out again, so that the line a message names is the line the editor shows.
    const pretty = prettyJson(body);
    setText(pretty.text);
    setBusy(true);
    try {
      await api(path, { method: 'PUT', body });
      setSaved(`Saved ${new Date().toLocaleTimeString()}.`);
    } catch (e) {
      const message = e instanceof ApiError ? e.message : String(e);
      const line = lineOfMessage(message, pretty.lineOf);
      setError(line === undefined ? message : `Line ${line}: ${message}`);
      if (line !== undefined) window.setTimeout(() => showLine(pretty.text, line), 0);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p class="small muted">{help}</p>
      <Show loaded={loaded} what="settings">
        {() => (
          <div class="stack">
            <label>
              Settings (JSON)
              <textarea
                ref={editor}
                value={text ?? ''}
                spellcheck={false}
                aria-invalid={error ? 'true' : undefined}
                aria-describedby={error ? `${id}-error` : undefined}
                onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
              />
            </label>
            {error && (
              <p id={`${id}-error`} class="field-error" role="alert">
                {error}
              </p>
            )}
            {saved && (
              <p class="small" role="status">
                {saved}
              </p>
            )}
            <div>
              <button type="button" disabled={busy} onClick={() => void save()}>
                Save
              </button>
            </div>
          </div>
        )}
      </Show>
    </section>
  );
}

function Stripe() {
  const status = useApi<{ endpoint: string; configured: boolean }>('/api/webhooks/stripe');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <section class="card" aria-labelledby="stripe-title">
      <h2 id="stripe-title">Stripe webhook</h2>
      <Show loaded={status} what="the Stripe set-up">
        {(s) => (
          <div class="stack">
            <p>
              In Stripe's dashboard (Developers → Webhooks), add the endpoint{' '}
              <code>
                {window.location.origin}
                {s.endpoint}
              </code>{' '}
              with the events <code>customer.subscription.*</code>, <code>invoice.paid</code> and{' '}
              <code>charge.refunded</code>, then paste its signing secret here.{' '}
              {s.configured ? (
                <span class="badge good">configured</span>
              ) : (
                <span class="badge warn">not configured</span>
              )}
            </p>
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                setError(null);
                api('/api/webhooks/stripe', { method: 'PUT', body: { endpointSecret: secret.trim() } })
                  .then(() => {
                    setSecret('');
                    status.reload();
                  })
                  .catch((err: Error) => setError(err.message));
              }}
            >
              <label>
                Signing secret
                <input
                  type="password"
                  value={secret}
                  placeholder="whsec_…"
                  onInput={(e) => setSecret((e.target as HTMLInputElement).value)}
                />
              </label>
              <button type="submit" disabled={secret.trim() === ''}>
                Save secret
              </button>
            </form>
            {error && (
              <p class="field-error" role="alert">
                {error}
              </p>
            )}
          </div>
        )}
      </Show>
    </section>
  );
}
