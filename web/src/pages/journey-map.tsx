import { useEffect, useState } from 'preact/hooks';
import type {
  PathActor,
  PathEdge,
  PathNode,
  PathPeoplePage,
  PathsResponse,
} from '../../../src/core/analytics/paths.js';
import { type ApiError, api } from '../api';
import { Chart, type ChartClick } from '../components/chart';
import { Empty, ErrorBox, fmt, Link, Loading } from '../components/state';
import { setParams, useLocation } from '../router';

/**
 * The journey map: a Sankey of the paths persons take through stages, channels, pages or events
 * (POST /api/analytics/paths), anchored at a start and/or end item, N steps deep. Every node,
 * flow and drop-off opens its people (POST /api/analytics/paths/people); the table under the
 * chart gives the same flows as text, each with its people, for keyboards and screen readers.
 */

const ITEMS = [
  ['stage', 'Stages'],
  ['channel', 'Channels'],
  ['page', 'Pages'],
  ['event', 'Events'],
] as const;
const RANGES = { '7d': 7, '30d': 30, '90d': 90, '365d': 365, all: 0 } as const;
type Range = keyof typeof RANGES;

/** Whose people are listed: a node, an edge or a drop-off, and how to name it. */
type Selection = { label: string; body: Record<string, unknown> };

const PALETTE = ['#2457c5', '#1d7a46', '#8a5a00', '#7c3aed', '#b42318', '#0e7490', '#be185d', '#4d7c0f'];

const duration = (ms: number | null) =>
  ms === null
    ? '—'
    : ms < 60_000
      ? `${Math.round(ms / 1000)} s`
      : ms < 3_600_000
        ? `${Math.round(ms / 60_000)} min`
        : ms < 172_800_000
          ? `${(ms / 3_600_000).toFixed(1)} h`
          : `${(ms / 86_400_000).toFixed(1)} days`;

/** `"2_/pricing"` → `/pricing (step 2)`. */
const nodeLabel = (key: string) => {
  const at = key.indexOf('_');
  return `${key.slice(at + 1)} (step ${key.slice(0, at)})`;
};

function useQuery(): Record<string, unknown> {
  const { params } = useLocation();
  const range = (params.get('range') as Range | null) ?? '30d';
  const days = RANGES[range] ?? 30;
  // Whole days, so the query stays the same while the page is open.
  const to = Math.ceil(Date.now() / 86_400_000) * 86_400_000;
  return {
    item: params.get('item') ?? 'stage',
    count: params.get('count') ?? 'persons',
    stepLimit: Number(params.get('steps') ?? 5),
    ...(days ? { from: new Date(to - days * 86_400_000).toISOString(), to: new Date(to).toISOString() } : {}),
    ...(params.get('start') ? { startPoint: params.get('start') } : {}),
    ...(params.get('end') ? { endPoint: params.get('end') } : {}),
  };
}

/** A POST read, again whenever its body changes; the newer request wins. */
function usePost<T>(path: string, body: Record<string, unknown> | null) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: body !== null,
  });
  const key = JSON.stringify(body);
  useEffect(() => {
    if (body === null) return;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api<T>(path, { method: 'POST', body, signal: controller.signal })
      .then((data) => setState({ data, loading: false }))
      .catch((error: ApiError) => {
        if (error.name !== 'AbortError') setState({ error, loading: false });
      });
    return () => controller.abort();
  }, [path, key]);
  return state;
}

export function JourneyMapPage() {
  const { params } = useLocation();
  const query = useQuery();
  const map = usePost<PathsResponse>('/api/analytics/paths', query);
  const [selection, setSelection] = useState<Selection | null>(null);
  // A new map: what was selected on the old one is gone.
  const queryKey = JSON.stringify(query);
  useEffect(() => setSelection(null), [queryKey]);
  const unit = query.count === 'persons' ? 'persons' : 'paths';

  return (
    <div class="stack">
      <h1>Journey map</h1>
      <Controls params={params} />
      {map.error ? (
        <ErrorBox error={map.error} />
      ) : !map.data ? (
        <Loading what="the journey map" />
      ) : map.data.total === 0 ? (
        <Empty title="No paths in this range">
          <p>
            Nobody's journey has these items in the range. Try a longer range, another item, or no anchors.
          </p>
        </Empty>
      ) : (
        <>
          <SankeyCard
            map={map.data}
            unit={unit}
            onSelect={(s) => setSelection({ ...s, body: { ...query, ...s.body } })}
          />
          {selection && <People key={JSON.stringify(selection.body)} selection={selection} />}
          <FlowTable
            map={map.data}
            unit={unit}
            onSelect={(s) => setSelection({ ...s, body: { ...query, ...s.body } })}
          />
        </>
      )}
    </div>
  );
}

function Controls({ params }: { params: URLSearchParams }) {
  const [start, setStart] = useState(params.get('start') ?? '');
  const [end, setEnd] = useState(params.get('end') ?? '');
  const select = (name: string) => (e: Event) =>
    setParams({ [name]: (e.target as HTMLSelectElement).value }, { push: true });
  return (
    <form
      class="row"
      style={{ flexWrap: 'wrap', gap: 'var(--space-3)', alignItems: 'flex-end' }}
      aria-label="Journey map query"
      onSubmit={(e) => {
        e.preventDefault();
        setParams({ start: start.trim(), end: end.trim() }, { push: true });
      }}
    >
      <label>
        Items
        <select value={params.get('item') ?? 'stage'} onChange={select('item')}>
          {ITEMS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
      </label>
      <label>
        Date range
        <select value={params.get('range') ?? '30d'} onChange={select('range')}>
          <option value="7d">Last 7 days</option>
          <option value="30d">Last 30 days</option>
          <option value="90d">Last 90 days</option>
          <option value="365d">Last 365 days</option>
          <option value="all">All time</option>
        </select>
      </label>
      <label>
        Steps
        <select value={params.get('steps') ?? '5'} onChange={select('steps')}>
          {[2, 3, 4, 5, 6, 7, 8, 10].map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label>
        Count
        <select value={params.get('count') ?? 'persons'} onChange={select('count')}>
          <option value="persons">Unique persons</option>
          <option value="paths">Every path (session)</option>
        </select>
      </label>
      <label>
        Starts at
        <input
          value={start}
          placeholder="any item"
          onInput={(e) => setStart((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Ends at
        <input
          value={end}
          placeholder="any item"
          onInput={(e) => setEnd((e.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Apply anchors</button>
    </form>
  );
}

function SankeyCard({
  map,
  unit,
  onSelect,
}: {
  map: PathsResponse;
  unit: string;
  onSelect: (s: Omit<Selection, 'body'> & { body: Record<string, unknown> }) => void;
}) {
  const colors = new Map<string, string>();
  const colorOf = (n: PathNode) => {
    if (n.kind === 'dropOff') return '#c4c9d1';
    if (n.kind === 'other' || n.kind === 'ellipsis') return '#8b939e';
    if (!colors.has(n.item)) colors.set(n.item, PALETTE[colors.size % PALETTE.length]!);
    return colors.get(n.item)!;
  };
  const columns = Math.max(...map.nodes.map((n) => n.position));
  const tallest = Math.max(
    ...[...Array(columns).keys()].map((c) => map.nodes.filter((n) => n.position === c + 1).length),
  );
  const click = (name: string, hit: ChartClick) => {
    if (hit.dataType === 'edge') {
      const e = hit.data as PathEdge;
      if (e.target.endsWith('_(drop-off)'))
        onSelect({ label: `ended at ${nodeLabel(e.source)}`, body: { dropOff: e.source } });
      else
        onSelect({
          label: `${nodeLabel(e.source)} → ${nodeLabel(e.target)}`,
          body: { edge: { source: e.source, target: e.target } },
        });
    } else if (!name.endsWith('_(drop-off)'))
      onSelect({ label: `at ${nodeLabel(name)}`, body: { node: name } });
  };
  return (
    <section class="card" aria-labelledby="sankey-title">
      <h2 id="sankey-title">Flow</h2>
      <p class="small muted" data-testid="map-total">
        <strong>{fmt(map.total)}</strong> {unit} · {fmt(map.edges.length)} flows · click a step or a flow to
        see its people
      </p>
      <Chart
        label={`Journey map: ${map.total} ${unit} through ${map.nodes.length} steps over ${columns} positions`}
        height={Math.max(320, tallest * 56)}
        onClick={click}
        option={{
          tooltip: { trigger: 'item' },
          series: [
            {
              type: 'sankey',
              left: 8,
              right: 160,
              top: 8,
              bottom: 8,
              nodeAlign: 'left',
              nodeGap: 14,
              draggable: false,
              emphasis: { focus: 'adjacency' },
              label: { color: '#1b1f24' },
              data: map.nodes.map((n) => ({
                name: n.key,
                depth: n.position - 1,
                itemStyle: { color: colorOf(n) },
                label: { formatter: `${n.kind === 'dropOff' ? 'Dropped off' : n.item}: ${n.count}` },
                tooltip: {
                  formatter: `${n.kind === 'dropOff' ? 'Dropped off' : n.item} (step ${n.position}): ${n.count} ${unit}`,
                },
              })),
              links: [...map.edges, ...map.dropOffs].map((e) => ({
                ...e,
                tooltip: {
                  formatter: e.target.endsWith('_(drop-off)')
                    ? `${nodeLabel(e.source)}, then nothing: ${e.value} ${unit}`
                    : `${nodeLabel(e.source)} → ${nodeLabel(e.target)}: ${e.value} ${unit}, ${duration(e.averageConversionTimeMs)} on average`,
                },
                lineStyle: e.target.endsWith('_(drop-off)')
                  ? { color: '#d9dde3', opacity: 0.6 }
                  : { color: 'gradient', opacity: 0.35 },
              })),
            },
          ],
        }}
      />
    </section>
  );
}

function FlowTable({
  map,
  unit,
  onSelect,
}: {
  map: PathsResponse;
  unit: string;
  onSelect: (s: Omit<Selection, 'body'> & { body: Record<string, unknown> }) => void;
}) {
  const first = map.nodes.filter((n) => n.position === 1 && n.kind !== 'dropOff');
  return (
    <section class="card" aria-labelledby="flows-title" style={{ padding: 0 }}>
      <h2 id="flows-title" style={{ padding: '12px 16px 0' }}>
        Flows
      </h2>
      <table data-testid="flows">
        <thead>
          <tr>
            <th scope="col">From</th>
            <th scope="col">To</th>
            <th scope="col" class="num">
              {unit === 'persons' ? 'Persons' : 'Paths'}
            </th>
            <th scope="col" class="num">
              Average time
            </th>
            <th scope="col">People</th>
          </tr>
        </thead>
        <tbody>
          {first.map((n) => (
            <tr key={n.key} data-source="" data-target={n.key}>
              <td class="muted">(start)</td>
              <td class="mono">{nodeLabel(n.key)}</td>
              <td class="num">{fmt(n.count)}</td>
              <td class="num">—</td>
              <td>
                <button
                  type="button"
                  class="secondary"
                  aria-label={`People at ${nodeLabel(n.key)}`}
                  onClick={() => onSelect({ label: `at ${nodeLabel(n.key)}`, body: { node: n.key } })}
                >
                  People
                </button>
              </td>
            </tr>
          ))}
          {[...map.edges, ...map.dropOffs].map((e) => {
            const dropped = e.target.endsWith('_(drop-off)');
            const label = dropped
              ? `ended at ${nodeLabel(e.source)}`
              : `${nodeLabel(e.source)} → ${nodeLabel(e.target)}`;
            return (
              <tr key={`${e.source}>${e.target}`} data-source={e.source} data-target={e.target}>
                <td class="mono">{nodeLabel(e.source)}</td>
                <td class="mono">{dropped ? <span class="muted">dropped off</span> : nodeLabel(e.target)}</td>
                <td class="num">{fmt(e.value)}</td>
                <td class="num">{duration(e.averageConversionTimeMs)}</td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`People ${label}`}
                    onClick={() =>
                      onSelect({
                        label,
                        body: dropped
                          ? { dropOff: e.source }
                          : { edge: { source: e.source, target: e.target } },
                      })
                    }
                  >
                    People
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

function People({ selection }: { selection: Selection }) {
  const [pages, setPages] = useState<PathActor[]>([]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const page = usePost<PathPeoplePage>('/api/analytics/paths/people', {
    ...selection.body,
    limit: 50,
    ...(cursor ? { cursor } : {}),
  });
  useEffect(() => {
    if (page.data) setPages((p) => [...(cursor ? p : []), ...page.data!.actors]);
  }, [page.data]);
  return (
    <section class="card" aria-labelledby="people-title" aria-live="polite">
      <h2 id="people-title">People {selection.label}</h2>
      {page.error ? (
        <ErrorBox error={page.error} />
      ) : !page.data && pages.length === 0 ? (
        <Loading what="the people" />
      ) : (
        <>
          <p class="small muted" data-testid="people-total">
            {fmt(page.data?.total ?? pages.length)} in all
          </p>
          <ul
            class="stack"
            style={{ gap: 'var(--space-1)', listStyle: 'none', padding: 0 }}
            data-testid="people"
          >
            {pages.map((a) => (
              <li key={a.id} data-id={a.id}>
                <Link href={`/${a.kind === 'account' ? 'accounts' : 'people'}/${encodeURIComponent(a.id)}`}>
                  {a.identifiers?.find((i) => i.type === 'email')?.value ??
                    a.identifiers?.find((i) => i.type === 'user_id')?.value ??
                    a.id}
                </Link>{' '}
                <span class="small muted mono">
                  {(a.identifiers ?? []).map((i) => `${i.type}:${i.value}`).join(' · ')}
                </span>
              </li>
            ))}
          </ul>
          {page.data?.nextCursor && (
            <button
              type="button"
              class="secondary"
              disabled={page.loading}
              onClick={() => setCursor(page.data!.nextCursor!)}
            >
              More people
            </button>
          )}
        </>
      )}
    </section>
  );
}
