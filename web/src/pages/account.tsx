import { JourneyList, StageCard } from '../components/journey-view';
import { fmt, Link, money, Show, TraitRows, useApi, when } from '../components/state';
import type { Identifier, Journey } from '../types';

interface Account {
  id: string;
  traits: Record<string, unknown>;
  members: { id: string; identifiers: Identifier[] }[];
  firstSeen?: string | null;
  lastSeen?: string | null;
  eventCount?: number;
  lifetimeRevenue?: number;
}

/** An account: traits, members, stage history and the journey of all its members. */
export function AccountPage({ id }: { id: string }) {
  const ref = encodeURIComponent(id);
  const account = useApi<Account>(`/api/accounts/${ref}`);
  const journey = useApi<Journey>(`/api/accounts/${ref}/journey?limit=1`);
  return (
    <div class="stack">
      <Show loaded={account} what="the account">
        {(a) => (
          <>
            <div>
              <h1>{typeof a.traits.name === 'string' ? a.traits.name : a.id}</h1>
              <p class="muted mono small">{a.id}</p>
            </div>
            <div class="grid cols-2">
              <section class="card" aria-labelledby="traits-title">
                <h2 id="traits-title">Traits</h2>
                <dl class="kv">
                  <TraitRows traits={a.traits} />
                  {a.lastSeen !== undefined && (
                    <>
                      <dt>Last seen</dt>
                      <dd>{when(a.lastSeen)}</dd>
                    </>
                  )}
                  {a.eventCount !== undefined && (
                    <>
                      <dt>Events</dt>
                      <dd>{fmt(a.eventCount)}</dd>
                    </>
                  )}
                  {a.lifetimeRevenue !== undefined && (
                    <>
                      <dt>Revenue</dt>
                      <dd>{money(a.lifetimeRevenue)}</dd>
                    </>
                  )}
                </dl>
              </section>
              <section class="card" aria-labelledby="members-title">
                <h2 id="members-title">Members ({fmt(a.members.length)})</h2>
                <ul>
                  {a.members.map((m) => (
                    <li key={m.id}>
                      <Link href={`/people/${encodeURIComponent(m.id)}`}>
                        {m.identifiers.find((i) => i.type === 'email')?.value ?? m.id}
                      </Link>
                    </li>
                  ))}
                </ul>
              </section>
            </div>
          </>
        )}
      </Show>
      <StageCard journey={journey} />
      <section class="card" aria-labelledby="journey-title">
        <h2 id="journey-title">Journey (all members)</h2>
        <Show loaded={journey} what="the journey">
          {(j) => <JourneyList journey={j} />}
        </Show>
      </section>
    </div>
  );
}
