import { useEffect, useRef, useState } from 'preact/hooks';
import { api, query } from '../api';
import { ErrorBox, Link, Show, useApi, when } from '../components/state';
import { setParams, useLocation } from '../router';

interface LiveEvent {
  type: string;
  messageId: string;
  event?: string;
  name?: string;
  userId?: string | null;
  anonymousId?: string | null;
  timestamp: string;
  receivedAt?: string;
  [k: string]: unknown;
}

const CAP = 500;

/**
 * Events as they are logged (the server's stream), newest first, capped at 500 like Segment's
 * debugger, after the 50 latest stored ones; filter by type and event name; pause keeps the list
 * still and counts what arrives. Quarantined messages below, with their reasons.
 */
export function LivePage() {
  const { params } = useLocation();
  const type = params.get('type') ?? '';
  const eventName = params.get('event') ?? '';
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [status, setStatus] = useState<'connecting' | 'live' | 'error'>('connecting');
  const [paused, setPaused] = useState(false);
  const [waiting, setWaiting] = useState(0);
  const [open, setOpen] = useState<LiveEvent | null>(null);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const buffer = useRef<LiveEvent[]>([]);
  const [missed, setMissed] = useState(0);
  const [backfillError, setBackfillError] = useState<Error | null>(null);
  useEffect(() => {
    // A new filter starts over: nothing of the old one stays, shown or held while paused.
    setEvents([]);
    buffer.current = [];
    setWaiting(0);
    setMissed(0);
    setBackfillError(null);
    // The latest stored events first (so the page is never blank when data exists), then the stream.
    const controller = new AbortController();
    api<{ events: LiveEvent[] }>(`/api/events${query({ type, event: eventName, limit: 50 })}`, {
      signal: controller.signal,
    })
      .then((r) =>
        setEvents((live) => {
          const seen = new Set(live.map((e) => e.messageId));
          return [...live, ...r.events.filter((e) => !seen.has(e.messageId))].slice(0, CAP);
        }),
      )
      .catch((e: Error) => {
        if (e.name !== 'AbortError') setBackfillError(e);
      });
    const source = new EventSource(`/api/events/live${query({ type, event: eventName })}`);
    source.onopen = () => setStatus('live');
    source.onerror = () => setStatus('error');
    source.addEventListener('event', (m) => {
      const e = JSON.parse((m as MessageEvent).data) as LiveEvent;
      if (pausedRef.current) {
        // Held while paused, as many as the page shows at most.
        buffer.current = [e, ...buffer.current].slice(0, CAP);
        setWaiting((n) => n + 1);
        return;
      }
      setEvents((list) => [e, ...list.filter((x) => x.messageId !== e.messageId)].slice(0, CAP));
    });
    // The server skips events while this page reads slower than they come, and says how many.
    source.addEventListener('missed', (m) => {
      const { count } = JSON.parse((m as MessageEvent).data) as { count: number };
      setMissed((n) => n + count);
    });
    return () => {
      controller.abort();
      source.close();
    };
  }, [type, eventName]);
  const resume = () => {
    setEvents((list) => [...buffer.current, ...list].slice(0, CAP));
    buffer.current = [];
    setWaiting(0);
    setPaused(false);
  };
  const quarantine = useApi<{
    items: {
      receivedAt: string;
      messageId: string | null;
      code: string;
      reason: string;
      field: string | null;
      payload: unknown;
    }[];
  }>('/api/quarantine?limit=50', { refreshMs: 10_000 });
  return (
    <div class="stack">
      <div class="row between">
        <h1>Live events</h1>
        <span class={`badge ${status === 'live' ? 'good' : status === 'error' ? 'bad' : ''}`} role="status">
          {status === 'live'
            ? paused
              ? 'paused'
              : 'live'
            : status === 'error'
              ? 'reconnecting…'
              : 'connecting…'}
        </span>
      </div>
      <form class="card row" onSubmit={(e) => e.preventDefault()}>
        <label>
          Type
          <select value={type} onChange={(e) => setParams({ type: (e.target as HTMLSelectElement).value })}>
            <option value="">all</option>
            {['track', 'page', 'screen', 'identify', 'group', 'alias'].map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Event name
          {/* Uncontrolled (keyed by the URL's value): typing is not reset by arriving events. */}
          <input
            key={eventName}
            defaultValue={eventName}
            placeholder="Order Completed"
            onChange={(e) => setParams({ event: (e.target as HTMLInputElement).value })}
          />
        </label>
        {paused ? (
          <button type="button" onClick={resume}>
            Resume{waiting ? ` (${waiting} new)` : ''}
          </button>
        ) : (
          <button type="button" class="secondary" onClick={() => setPaused(true)}>
            Pause
          </button>
        )}
      </form>
      {backfillError && <ErrorBox error={backfillError} />}
      {missed > 0 && (
        <p class="notice" role="status">
          {missed.toLocaleString('en-US')} events went by faster than this page could show them; they are
          stored (see the API's GET /api/events).
        </p>
      )}
      <section class="card" aria-label="Events as they arrive" style={{ padding: 0 }}>
        {events.length === 0 ? (
          <p class="loading" style={{ padding: 16 }}>
            Waiting for events… send one with an SDK (see <Link href="/settings">Settings</Link>) or run{' '}
            <code>npm run demo</code>.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Type</th>
                <th scope="col">Event</th>
                <th scope="col">User</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.messageId} class="live-row" data-message-id={e.messageId}>
                  <td>{when(e.receivedAt ?? e.timestamp)}</td>
                  <td>
                    <span class="badge">{e.type}</span>
                  </td>
                  <td>
                    <button
                      type="button"
                      class="secondary"
                      onClick={() => setOpen(e)}
                      aria-label={`Show ${e.event ?? e.name ?? e.type} payload`}
                    >
                      {e.event ?? e.name ?? '—'}
                    </button>
                  </td>
                  <td class="mono small">
                    {e.userId ? (
                      <Link href={`/people/${encodeURIComponent(`user_id:${e.userId}`)}`}>{e.userId}</Link>
                    ) : (
                      (e.anonymousId ?? '—')
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {open && (
        <section class="card" aria-labelledby="payload-title">
          <div class="row between">
            <h2 id="payload-title">Payload of {open.messageId}</h2>
            <button type="button" class="secondary" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
          <pre>{JSON.stringify(open, null, 2)}</pre>
        </section>
      )}
      <section class="card" aria-labelledby="quarantine-title">
        <h2 id="quarantine-title">Quarantined messages</h2>
        <Show loaded={quarantine} what="quarantined messages">
          {(q) =>
            q.items.length === 0 ? (
              <p class="muted">None: every message so far was accepted.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Received</th>
                    <th scope="col">Why</th>
                    <th scope="col">Field</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {q.items.map((item, i) => (
                    <tr key={i}>
                      <td>{when(item.receivedAt)}</td>
                      <td>
                        <span class="badge bad">{item.code}</span> {item.reason}
                      </td>
                      <td class="mono small">{item.field ?? ''}</td>
                      <td>
                        <details>
                          <summary class="mono small">{item.messageId ?? 'payload'}</summary>
                          <pre>
                            {typeof item.payload === 'string'
                              ? item.payload
                              : JSON.stringify(item.payload, null, 2)}
                          </pre>
                        </details>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Show>
      </section>
    </div>
  );
}
