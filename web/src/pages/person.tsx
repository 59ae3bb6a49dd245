import { useState } from 'preact/hooks';
import { api } from '../api';
import { IdentityGraph } from '../components/identity-graph';
import { JourneyList, StageCard } from '../components/journey-view';
import { ErrorBox, fmt, Link, money, Show, TraitRows, useApi, when } from '../components/state';
import type { IdentityExplanation, Journey, Profile } from '../types';

/** A person: traits, stage history, journey, accounts, and the identity graph with its actions. */
export function PersonPage({ personRef }: { personRef: string }) {
  const ref = encodeURIComponent(personRef);
  const profile = useApi<Profile>(`/api/persons/${ref}`);
  const journey = useApi<Journey>(`/api/persons/${ref}/journey?limit=1`);
  const identity = useApi<IdentityExplanation>(`/api/persons/${ref}/identity`);
  const reloadAll = () => {
    profile.reload();
    journey.reload();
    identity.reload();
  };
  return (
    <div class="stack">
      <Show loaded={profile} what="the profile">
        {(p) => (
          <>
            <div class="row between">
              <div>
                <h1>{nameOf(p)}</h1>
                <p class="muted mono small">{p.id}</p>
                {p.redirectedFrom && (
                  <p class="small">
                    <span class="badge warn">merged</span> {p.redirectedFrom} now belongs to this person.
                  </p>
                )}
              </div>
              {journey.data?.stage && (
                <span class="badge">{journey.data.stages.at(-1)?.name ?? journey.data.stage}</span>
              )}
            </div>
            <div class="grid cols-3">
              <section class="card" aria-labelledby="traits-title">
                <h2 id="traits-title">Traits</h2>
                <dl class="kv">
                  <TraitRows traits={p.traits} updatedAt={p.traitsUpdatedAt} />
                </dl>
              </section>
              <section class="card" aria-labelledby="activity-title">
                <h2 id="activity-title">Activity</h2>
                <dl class="kv">
                  <dt>First seen</dt>
                  <dd>{when(p.firstSeen)}</dd>
                  <dt>Last seen</dt>
                  <dd>{when(p.lastSeen)}</dd>
                  <dt>Events</dt>
                  <dd>
                    {fmt(p.eventCount)}{' '}
                    <span class="small muted">
                      {Object.entries(p.eventsByType ?? {})
                        .map(([t, n]) => `${t} ${fmt(n)}`)
                        .join(' · ')}
                    </span>
                  </dd>
                  <dt>Revenue</dt>
                  <dd>{money(p.lifetimeRevenue)}</dd>
                </dl>
              </section>
              <section class="card" aria-labelledby="accounts-title">
                <h2 id="accounts-title">Accounts</h2>
                {p.accounts && p.accounts.length > 0 ? (
                  <ul>
                    {p.accounts.map((a) => (
                      <li key={a}>
                        <Link href={`/accounts/${encodeURIComponent(a)}`}>{a}</Link>
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p class="muted">Not a member of any account.</p>
                )}
              </section>
            </div>
          </>
        )}
      </Show>
      <StageCard journey={journey} />
      <section class="card" aria-labelledby="identity-title">
        <h2 id="identity-title">Identity</h2>
        <Show loaded={identity} what="the identity graph">
          {(i) => <IdentityPanel identity={i} personRef={personRef} onChanged={reloadAll} />}
        </Show>
      </section>
      <section class="card" aria-labelledby="journey-title">
        <h2 id="journey-title">Journey</h2>
        <Show loaded={journey} what="the journey">
          {(j) => <JourneyList journey={j} />}
        </Show>
      </section>
    </div>
  );
}

function nameOf(p: Profile): string {
  const t = p.traits;
  const name = [t.firstName, t.lastName].filter((x) => typeof x === 'string').join(' ');
  return (
    name || (typeof t.name === 'string' ? t.name : '') || (typeof t.email === 'string' ? t.email : '') || p.id
  );
}

/**
 * Each identifier with why it belongs (the link and its evidence), links with what their rules
 * dropped, and the actions: untrust an identifier (a shared device), remove one from the person,
 * merge with another person, undo an operation. Each action calls the API, then everything redraws.
 */
function IdentityPanel({
  identity,
  personRef,
  onChanged,
}: {
  identity: IdentityExplanation;
  personRef: string;
  onChanged: () => void;
}) {
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [mergeWith, setMergeWith] = useState('');
  // The operation just made, offered for undo right here: after a split the identifier it
  // concerned may no longer belong to this person, so its row (and its operations) leave the page.
  const [last, setLast] = useState<{ id: number; kind: string; what: string } | null>(null);
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      const r = (await what()) as
        | { operation?: { id: number; kind: string; identifiers?: { type: string; value: string }[] } }
        | undefined;
      const op = r?.operation;
      setLast(
        op && op.kind !== 'undo'
          ? {
              id: op.id,
              kind: op.kind,
              what: (op.identifiers ?? []).map((i) => `${i.type}:${i.value}`).join(', '),
            }
          : null,
      );
      onChanged();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  const undo = (operation: number) =>
    act(() => api(`/api/identity/operations/${operation}/undo`, { method: 'POST', body: {} }));
  const linkOf = new Map(identity.links.map((l) => [l.id, l]));
  const ref = encodeURIComponent(personRef);
  return (
    <div class="stack">
      <IdentityGraph identity={identity} />
      {error && <ErrorBox error={error} />}
      {last && (
        <div class="notice row between" role="status">
          <span>
            Done: {last.kind} {last.what} (operation #{last.id}).
          </span>
          <button type="button" class="secondary" disabled={busy} onClick={() => void undo(last.id)}>
            Undo {last.kind}
          </button>
        </div>
      )}
      <table>
        <thead>
          <tr>
            <th scope="col">Identifier</th>
            <th scope="col">Why it belongs</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {identity.identifiers.map((i) => {
            const id = `${i.type}:${i.value}`;
            const link = i.because ? linkOf.get(i.because.link) : undefined;
            return (
              <tr key={id}>
                <td>
                  <span class="mono">{i.type}</span> {i.value}{' '}
                  {i.untrusted && <span class="badge bad">untrusted</span>}
                </td>
                <td class="small">
                  {i.because && link ? (
                    <>
                      link #{link.id} with {i.because.with.type}:{i.because.with.value} —{' '}
                      {link.rule === 'manual_merge' ? 'manual merge' : 'seen together in message'}{' '}
                      <span class="mono">{link.messageId ?? ''}</span> at {when(link.timestamp)}
                    </>
                  ) : (
                    <span class="muted">the person's anchor</span>
                  )}
                </td>
                <td>
                  <div class="row">
                    {i.untrusted ? (
                      <button
                        type="button"
                        class="secondary"
                        disabled={busy}
                        onClick={() =>
                          void act(() =>
                            api(`/api/identifiers/${encodeURIComponent(id)}/trust`, {
                              method: 'POST',
                              body: {},
                            }),
                          )
                        }
                      >
                        Trust again
                      </button>
                    ) : (
                      <button
                        type="button"
                        class="secondary"
                        disabled={busy}
                        aria-label={`Untrust ${id}`}
                        onClick={() =>
                          void act(() =>
                            api(`/api/identifiers/${encodeURIComponent(id)}/untrust`, {
                              method: 'POST',
                              body: { reason: 'untrusted from the dashboard' },
                            }),
                          )
                        }
                      >
                        Untrust
                      </button>
                    )}
                    {identity.identifiers.length > 1 && (
                      <button
                        type="button"
                        class="secondary"
                        disabled={busy}
                        aria-label={`Remove ${id} from this person`}
                        onClick={() =>
                          void act(() =>
                            api(`/api/persons/${ref}/identifiers/${encodeURIComponent(id)}`, {
                              method: 'DELETE',
                              body: { reason: 'removed from the dashboard' },
                            }),
                          )
                        }
                      >
                        Remove
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <details>
        <summary>
          {identity.links.length} links{' '}
          {identity.links.some((l) => l.dropped.length)
            ? `(${identity.links.filter((l) => l.dropped.length).length} with dropped identifiers)`
            : ''}
        </summary>
        <table>
          <thead>
            <tr>
              <th scope="col">Link</th>
              <th scope="col">Evidence</th>
              <th scope="col">Identifiers</th>
              <th scope="col">Dropped, and why</th>
            </tr>
          </thead>
          <tbody>
            {identity.links.map((l) => (
              <tr key={l.id}>
                <td>
                  #{l.id} · {l.rule}
                </td>
                <td class="small">
                  {when(l.timestamp)} <span class="mono">{l.messageId ?? ''}</span>
                </td>
                <td class="small mono">{l.identifiers.map((i) => `${i.type}:${i.value}`).join(', ')}</td>
                <td class="small">
                  {l.dropped.length ? (
                    l.dropped.map((d) => `${d.type}:${d.value} (${d.reason})`).join('; ')
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void act(async () => {
            await api(`/api/persons/${ref}/merge`, {
              method: 'POST',
              body: { with: mergeWith.trim(), reason: 'merged from the dashboard' },
            });
            setMergeWith('');
          });
        }}
      >
        <label>
          Merge with another person
          <input
            value={mergeWith}
            onInput={(e) => setMergeWith((e.target as HTMLInputElement).value)}
            placeholder="p_… or email:jane@example.com"
            size={34}
          />
        </label>
        <button type="submit" disabled={busy || mergeWith.trim() === ''}>
          Merge
        </button>
      </form>
      {identity.operations.length > 0 && (
        <div>
          <h3>Operations on this person</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">What</th>
                <th scope="col">Reason</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {identity.operations.map((o) => (
                <tr key={o.id}>
                  <td>{when(o.at)}</td>
                  <td>{o.kind}</td>
                  <td class="small">{o.reason ?? ''}</td>
                  <td>
                    {o.undone ? (
                      <span class="badge">undone</span>
                    ) : (
                      <button type="button" class="secondary" disabled={busy} onClick={() => void undo(o.id)}>
                        Undo
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
