import { useEffect, useState } from 'preact/hooks';
import { query } from '../api';
import { day, Empty, fmt, Link, money, Show, useApi } from '../components/state';
import { setParams, useLocation } from '../router';
import type { PersonRow } from '../types';

const FILTERS = [
  'query',
  'stage',
  'channel',
  'seenFrom',
  'seenTo',
  'touchedFrom',
  'touchedTo',
  'sort',
  'order',
] as const;

/**
 * People or accounts: every filter of the list API, kept in the URL (shareable), with the total
 * and cursor pages. "Previous" walks back the cursors this page has seen.
 */
export function ListPage({ subject }: { subject: 'person' | 'account' }) {
  const { params } = useLocation();
  const base = subject === 'person' ? '/api/persons' : '/api/accounts';
  const filters: Record<string, string | string[] | undefined> = {};
  for (const f of FILTERS) {
    const all = params.getAll(f);
    if (all.length) filters[f] = all.length === 1 ? all[0] : all;
  }
  for (const [k, v] of params) if (k.startsWith('trait.')) filters[k] = v;
  const cursor = params.get('cursor') ?? undefined;
  const loaded = useApi<{
    persons?: PersonRow[];
    accounts?: PersonRow[];
    total: number;
    nextCursor: string | null;
  }>(`${base}${query({ ...filters, cursor, limit: 25 })}`);
  const [history, setHistory] = useState<string[]>([]);
  const filterKey = JSON.stringify(filters);
  useEffect(() => setHistory([]), [filterKey]);
  const title = subject === 'person' ? 'People' : 'Accounts';
  const rows = loaded.data ? (loaded.data.persons ?? loaded.data.accounts ?? []) : [];
  const traitFilter = [...params].find(([k]) => k.startsWith('trait.'));
  // Filters the form has no field for (set by links from the overview), shown so they can go.
  const hidden = (
    [
      ['seenTo', 'active before'],
      ['touchedFrom', 'touched from'],
      ['touchedTo', 'touched before'],
      ['order', 'order'],
    ] as const
  ).filter(([k]) => params.has(k));
  // The workspace's stage model and channels, for the filters' choices.
  const rules = useApi<{
    channelRules: { channel: string }[];
    stageModel: { stages: { id: string; name: string }[] };
  }>('/api/journey/rules');
  const stages = rules.data?.stageModel.stages ?? [];
  const channels = [...new Set((rules.data?.channelRules ?? []).map((r) => r.channel))].sort();
  return (
    <div class="stack">
      <h1>{title}</h1>
      <form
        key={`${params.toString()}|${stages.length}|${channels.length}`}
        class="card row"
        aria-label={`Filter ${title.toLowerCase()}`}
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget as HTMLFormElement);
          const changes: Record<string, string | undefined> = { cursor: undefined };
          for (const f of ['query', 'stage', 'channel', 'seenFrom'])
            changes[f] = (data.get(f) as string) || undefined;
          if (changes.seenFrom) changes.seenFrom = new Date(changes.seenFrom).toISOString();
          for (const [k] of params) if (k.startsWith('trait.')) changes[k] = undefined;
          const trait = ((data.get('trait') as string) ?? '').trim();
          const eq = trait.indexOf('=');
          if (eq > 0) changes[`trait.${trait.slice(0, eq).trim()}`] = trait.slice(eq + 1).trim();
          changes.sort = (data.get('sort') as string) || undefined;
          setParams(changes, { push: true });
        }}
      >
        <label>
          Search
          <input
            name="query"
            type="search"
            placeholder={subject === 'person' ? 'email, user id, name…' : 'account id, name, domain…'}
            defaultValue={params.get('query') ?? ''}
          />
        </label>
        <label>
          Current stage
          <select name="stage">
            <option value="">any</option>
            {stages.map((st) => (
              <option key={st.id} value={st.id} selected={st.id === params.get('stage')}>
                {st.name}
              </option>
            ))}
            <option value="(none)" selected={params.get('stage') === '(none)'}>
              no stage
            </option>
          </select>
        </label>
        <label>
          Channel touched
          <select name="channel">
            <option value="">any</option>
            {channels.map((c) => (
              <option key={c} value={c} selected={c === params.get('channel')}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Trait
          <input
            name="trait"
            placeholder="plan=pro"
            defaultValue={traitFilter ? `${traitFilter[0].slice(6)}=${traitFilter[1]}` : ''}
            size={12}
          />
        </label>
        <label>
          Active since
          <input name="seenFrom" type="date" defaultValue={params.get('seenFrom')?.slice(0, 10) ?? ''} />
        </label>
        <label>
          Sort
          <select name="sort">
            <option value="lastSeen">Last seen</option>
            <option value="firstSeen" selected={params.get('sort') === 'firstSeen'}>
              First seen
            </option>
          </select>
        </label>
        <button type="submit">Apply</button>
        {params.toString() && (
          <button
            type="button"
            class="secondary"
            onClick={() =>
              setParams(Object.fromEntries([...params].map(([k]) => [k, undefined])), { push: true })
            }
          >
            Clear
          </button>
        )}
      </form>
      {hidden.length > 0 && (
        <section class="pill-list" aria-label="Other filters">
          {hidden.map(([k, label]) => (
            <button
              key={k}
              type="button"
              class="secondary small"
              aria-label={`Remove the filter ${label} ${params.get(k)}`}
              onClick={() => setParams({ [k]: undefined, cursor: undefined }, { push: true })}
            >
              {label}: {k === 'order' ? params.get(k) : day(params.get(k))} ✕
            </button>
          ))}
        </section>
      )}
      <Show loaded={loaded} what={title.toLowerCase()}>
        {(page) =>
          rows.length === 0 ? (
            <Empty title={`No ${title.toLowerCase()} match`}>
              <p>
                {params.toString()
                  ? 'Change or clear the filters above.'
                  : 'No one has been seen yet: send events (see Settings) or run npm run demo.'}
              </p>
            </Empty>
          ) : (
            <section aria-label={`${title} list`} class="card" style={{ padding: 0 }}>
              <p class="small muted" style={{ padding: '12px 16px 0' }} aria-live="polite">
                <strong data-testid="total">{fmt(page.total)}</strong>{' '}
                {subject === 'person' ? 'persons' : 'accounts'} · showing {fmt(rows.length)}
              </p>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{subject === 'person' ? 'Person' : 'Account'}</th>
                    <th scope="col">Stage</th>
                    {subject === 'account' && (
                      <th scope="col" class="num">
                        Members
                      </th>
                    )}
                    <th scope="col" class="num">
                      Events
                    </th>
                    <th scope="col" class="num">
                      Revenue
                    </th>
                    <th scope="col">First seen</th>
                    <th scope="col">Last seen</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <tr key={r.id} data-id={r.id}>
                      <td>
                        <Link
                          href={`/${subject === 'person' ? 'people' : 'accounts'}/${encodeURIComponent(r.id)}`}
                        >
                          {displayName(r)}
                        </Link>
                        <div class="small muted mono">{subtitle(r)}</div>
                      </td>
                      <td>
                        {r.stage ? <span class="badge">{r.stage.name}</span> : <span class="muted">—</span>}
                      </td>
                      {subject === 'account' && <td class="num">{fmt(r.members ?? 0)}</td>}
                      <td class="num">{fmt(r.eventCount)}</td>
                      <td class="num">{money(r.lifetimeRevenue)}</td>
                      <td>{day(r.firstSeen)}</td>
                      <td>{day(r.lastSeen)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <div class="row" style={{ padding: '12px 16px' }}>
                <button
                  type="button"
                  class="secondary"
                  disabled={history.length === 0 || loaded.loading}
                  onClick={() => {
                    const prev = history[history.length - 1];
                    setHistory(history.slice(0, -1));
                    setParams({ cursor: prev === '' ? undefined : prev });
                  }}
                >
                  Previous
                </button>
                <button
                  type="button"
                  class="secondary"
                  disabled={!page.nextCursor || loaded.loading}
                  onClick={() => {
                    setHistory([...history, cursor ?? '']);
                    setParams({ cursor: page.nextCursor ?? undefined });
                  }}
                >
                  Next
                </button>
              </div>
            </section>
          )
        }
      </Show>
    </div>
  );
}

function displayName(r: PersonRow): string {
  const t = r.traits;
  const name = [t.firstName, t.lastName].filter((x) => typeof x === 'string').join(' ');
  if (name) return name;
  if (typeof t.name === 'string') return t.name;
  if (typeof t.email === 'string') return t.email;
  return r.id;
}

function subtitle(r: PersonRow): string {
  const email = r.identifiers?.find((i) => i.type === 'email')?.value;
  const user = r.identifiers?.find((i) => i.type === 'user_id')?.value;
  return [email, user, r.identifiers ? undefined : r.id].filter(Boolean).join(' · ') || r.id;
}
