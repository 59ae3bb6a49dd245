import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { Chart } from '../components/chart';
import { Empty, ErrorBox, fmt, Link, Loading } from '../components/state';
import { setParams, useLocation } from '../router';
import type { FunnelPeople, FunnelResponse, FunnelStepResult } from '../types';

/**
 * The funnel builder: steps (events, page views, stages entered), the window, the order, the
 * range, the breakdown. The query lives in the URL (`?q=`), so a funnel can be shared. Each step
 * shows who converted, who dropped and who is still within the window; a click on a step's bar
 * or its drop-off lists those people.
 */

type StepKind = 'event' | 'page' | 'stage';
interface StepDraft {
  kind: StepKind;
  value: string;
}
interface Draft {
  steps: StepDraft[];
  windowValue: number;
  windowUnit: string;
  order: string;
  from: string;
  to: string;
  by: string;
  breakdown: string;
}

const today = () => new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

const DEFAULT: Draft = {
  steps: [
    { kind: 'page', value: '' },
    { kind: 'event', value: 'Signed Up' },
  ],
  windowValue: 14,
  windowUnit: 'day',
  order: 'ordered',
  from: daysAgo(30),
  to: today(),
  by: 'person',
  breakdown: '',
};

function queryOf(d: Draft): Record<string, unknown> {
  return {
    steps: d.steps.map((s) =>
      s.kind === 'stage'
        ? { stage: s.value }
        : s.kind === 'page'
          ? {
              name: s.value ? `Viewed ${s.value}` : 'Any page view',
              where: s.value
                ? {
                    all: [
                      { field: 'type', op: 'eq', value: 'page' },
                      { field: 'landing_path', op: 'eq', value: s.value },
                    ],
                  }
                : { field: 'type', op: 'eq', value: 'page' },
            }
          : { event: s.value },
    ),
    window: { value: d.windowValue, unit: d.windowUnit },
    order: d.order,
    from: d.from,
    to: d.to,
    aggregateBy: d.by,
    ...(d.breakdown ? { breakdown: { field: d.breakdown } } : {}),
  };
}

function draftOf(raw: string | null): Draft {
  if (!raw) return DEFAULT;
  try {
    return { ...DEFAULT, ...(JSON.parse(raw) as Partial<Draft>) };
  } catch {
    return DEFAULT;
  }
}

export function FunnelsPage() {
  const { params } = useLocation();
  const applied = draftOf(params.get('q'));
  const [draft, setDraft] = useState<Draft>(applied);
  const [result, setResult] = useState<{ data?: FunnelResponse; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [people, setPeople] = useState<{ step: number; dropped: boolean } | null>(null);
  const key = JSON.stringify(applied);

  useEffect(() => {
    const controller = new AbortController();
    setResult((r) => ({ ...r, loading: true }));
    setPeople(null);
    api<FunnelResponse>('/api/analytics/funnel', {
      method: 'POST',
      body: queryOf(applied),
      signal: controller.signal,
    })
      .then((data) => setResult({ data, loading: false }))
      .catch((error: Error) => {
        if (error.name !== 'AbortError') setResult({ error, loading: false });
      });
    return () => controller.abort();
  }, [key]);

  const valid = draft.steps.every((s) => s.kind === 'page' || s.value.trim() !== '');
  const update = (change: Partial<Draft>) => setDraft({ ...draft, ...change });
  const setStep = (i: number, change: Partial<StepDraft>) =>
    update({ steps: draft.steps.map((s, j) => (j === i ? { ...s, ...change } : s)) });

  return (
    <div class="stack">
      <h1>Funnels</h1>
      <form
        class="card stack"
        aria-label="Funnel builder"
        onSubmit={(e) => {
          e.preventDefault();
          if (valid) setParams({ q: JSON.stringify(draft) }, { push: true });
        }}
      >
        <ol class="stack funnel-steps">
          {draft.steps.map((s, i) => (
            <li class="row" key={i}>
              <label>
                Step {i + 1}
                <select
                  aria-label={`Step ${i + 1} kind`}
                  onChange={(e) => setStep(i, { kind: (e.target as HTMLSelectElement).value as StepKind })}
                >
                  <option value="event" selected={s.kind === 'event'}>
                    Event
                  </option>
                  <option value="page" selected={s.kind === 'page'}>
                    Page view
                  </option>
                  <option value="stage" selected={s.kind === 'stage'}>
                    Stage entered
                  </option>
                </select>
              </label>
              <label>
                {s.kind === 'event'
                  ? 'Event name'
                  : s.kind === 'page'
                    ? 'Page path (empty: any)'
                    : 'Stage id'}
                <input
                  value={s.value}
                  aria-label={`Step ${i + 1} ${s.kind === 'event' ? 'event name' : s.kind === 'page' ? 'page path' : 'stage'}`}
                  onInput={(e) => setStep(i, { value: (e.target as HTMLInputElement).value })}
                />
              </label>
              {draft.steps.length > 1 && (
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Remove step ${i + 1}`}
                  onClick={() => update({ steps: draft.steps.filter((_, j) => j !== i) })}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ol>
        <div class="row wrap">
          <button
            type="button"
            class="secondary"
            disabled={draft.steps.length >= 20}
            onClick={() => update({ steps: [...draft.steps, { kind: 'event', value: '' }] })}
          >
            Add a step
          </button>
          <label>
            Converted within
            <input
              type="number"
              min={1}
              value={draft.windowValue}
              style={{ width: '6em' }}
              onInput={(e) => update({ windowValue: Number((e.target as HTMLInputElement).value) })}
            />
          </label>
          <label>
            Unit
            <select onChange={(e) => update({ windowUnit: (e.target as HTMLSelectElement).value })}>
              {['minute', 'hour', 'day', 'week', 'month'].map((u) => (
                <option key={u} value={u} selected={draft.windowUnit === u}>
                  {u}s
                </option>
              ))}
            </select>
          </label>
          <label>
            Order
            <select onChange={(e) => update({ order: (e.target as HTMLSelectElement).value })}>
              <option value="ordered" selected={draft.order === 'ordered'}>
                In order
              </option>
              <option value="strict" selected={draft.order === 'strict'}>
                Strictly in order
              </option>
              <option value="unordered" selected={draft.order === 'unordered'}>
                Any order
              </option>
            </select>
          </label>
          <label>
            Count
            <select onChange={(e) => update({ by: (e.target as HTMLSelectElement).value })}>
              <option value="person" selected={draft.by === 'person'}>
                Persons
              </option>
              <option value="account" selected={draft.by === 'account'}>
                Accounts
              </option>
              <option value="session" selected={draft.by === 'session'}>
                Sessions
              </option>
            </select>
          </label>
          <label>
            First step from
            <input
              type="date"
              value={draft.from}
              onInput={(e) => update({ from: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            to
            <input
              type="date"
              value={draft.to}
              onInput={(e) => update({ to: (e.target as HTMLInputElement).value })}
            />
          </label>
          <label>
            Break down by
            <input
              value={draft.breakdown}
              placeholder="channel, properties.plan…"
              onInput={(e) => update({ breakdown: (e.target as HTMLInputElement).value })}
            />
          </label>
        </div>
        <div>
          <button type="submit" disabled={!valid}>
            Show the funnel
          </button>
        </div>
      </form>
      {result.error && <ErrorBox error={result.error} />}
      {result.loading && !result.data && <Loading what="the funnel" />}
      {result.data && (
        <FunnelView
          funnel={result.data}
          onPeople={(step, dropped) => setPeople({ step, dropped })}
          stale={result.loading}
        />
      )}
      {people && result.data && (
        <PeopleAtStep
          query={queryOf(applied)}
          step={people.step}
          dropped={people.dropped}
          funnel={result.data}
        />
      )}
    </div>
  );
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
const duration = (s: number | null) =>
  s === null
    ? '—'
    : s < 60
      ? `${Math.round(s)}s`
      : s < 3600
        ? `${Math.round(s / 60)}m`
        : s < 86_400
          ? `${(s / 3600).toFixed(1)}h`
          : `${(s / 86_400).toFixed(1)}d`;

function FunnelView({
  funnel,
  onPeople,
  stale,
}: {
  funnel: FunnelResponse;
  onPeople: (step: number, dropped: boolean) => void;
  stale: boolean;
}) {
  const first = funnel.steps[0]?.count ?? 0;
  if (first === 0)
    return (
      <Empty title="Nobody did the first step in this range">
        <p>Check the first step's name, or widen the date range.</p>
      </Empty>
    );
  return (
    <section class="card stack" aria-label="Funnel" aria-busy={stale}>
      {!funnel.freshness.current && (
        <p class="notice small">
          The journey tables are catching up with the newest events: these numbers may still change.
        </p>
      )}
      <ol class="funnel" aria-label="Steps">
        {funnel.steps.map((s) => (
          <StepRow
            key={s.index}
            step={s}
            before={funnel.steps[s.index - 1]?.name}
            first={first}
            onPeople={onPeople}
          />
        ))}
      </ol>
      {funnel.timeToConvert.bins.length > 0 && (
        <div>
          <h2>Time to convert</h2>
          <p class="small muted">
            First step to last: median {duration(funnel.timeToConvert.medianS)}, average{' '}
            {duration(funnel.timeToConvert.averageS)}
          </p>
          <Chart
            label="Histogram of the time from the first step to the last"
            option={{
              tooltip: {},
              grid: { left: 48, right: 16, top: 16, bottom: 32 },
              xAxis: { type: 'category', data: funnel.timeToConvert.bins.map(([s]) => duration(s)) },
              yAxis: { type: 'value', minInterval: 1 },
              series: [{ type: 'bar', data: funnel.timeToConvert.bins.map(([, n]) => n), color: '#4f46e5' }],
            }}
          />
        </div>
      )}
      {funnel.breakdown && (
        <div>
          <h2>Breakdown</h2>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Value</th>
                {funnel.steps.map((s) => (
                  <th scope="col" key={s.index}>
                    {s.name}
                  </th>
                ))}
                <th scope="col">Converted</th>
              </tr>
            </thead>
            <tbody>
              {funnel.breakdown.map((b) => (
                <tr key={b.value}>
                  <th scope="row">{b.value === '' ? '(none)' : b.value}</th>
                  {b.steps.map((s) => (
                    <td key={s.index}>{fmt(s.count)}</td>
                  ))}
                  <td>{pct(b.steps.at(-1)?.conversionRate ?? 0)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function StepRow({
  step: s,
  before,
  first,
  onPeople,
}: {
  step: FunnelStepResult;
  before: string | undefined;
  first: number;
  onPeople: (step: number, dropped: boolean) => void;
}) {
  const width = first === 0 ? 0 : (s.count / first) * 100;
  return (
    <li class="funnel-step">
      <div class="row between">
        <strong>
          {s.index + 1}. {s.name}
        </strong>
        <span class="small muted">
          {s.index > 0 && `median ${duration(s.medianTimeToConvertS)} from the step before`}
        </span>
      </div>
      <button
        type="button"
        class="funnel-bar"
        aria-label={`${s.name}: ${fmt(s.count)} · ${pct(s.conversionRate)} of step 1, show them`}
        onClick={() => onPeople(s.index, false)}
      >
        <span class="funnel-fill" style={{ width: `${width}%` }} />
        <span class="funnel-count">
          {fmt(s.count)} · {pct(s.conversionRate)}
        </span>
      </button>
      {s.index > 0 && (
        <p class="small">
          {pct(s.stepConversionRate)} of the step before.{' '}
          <button
            type="button"
            class="link"
            aria-label={`${fmt(s.dropOff)} dropped between ${before} and ${s.name}: show them`}
            onClick={() => onPeople(s.index - 1, true)}
          >
            {fmt(s.dropOff)} dropped
          </button>
          {s.stillInWindow > 0 && (
            <span class="muted"> ({fmt(s.stillInWindow)} of them still within the window)</span>
          )}
        </p>
      )}
    </li>
  );
}

function PeopleAtStep({
  query,
  step,
  dropped,
  funnel,
}: {
  query: Record<string, unknown>;
  step: number;
  dropped: boolean;
  funnel: FunnelResponse;
}) {
  const [page, setPage] = useState<{ data?: FunnelPeople; error?: Error }>({});
  useEffect(() => {
    setPage({});
    api<FunnelPeople>('/api/analytics/funnel/people', {
      method: 'POST',
      body: { ...query, step, dropped, limit: 50 },
    })
      .then((data) => setPage({ data }))
      .catch((error: Error) => setPage({ error }));
  }, [JSON.stringify(query), step, dropped]);
  const name = funnel.steps[step]?.name ?? '';
  const next = funnel.steps[step + 1]?.name ?? '';
  return (
    <section class="card stack" aria-label="People at the step">
      <h2>{dropped ? `Did “${name}” but not “${next}”` : `Did “${name}”`}</h2>
      {page.error && <ErrorBox error={page.error} />}
      {!page.data && !page.error && <Loading what="the people" />}
      {page.data && (
        <>
          <p class="small muted">
            {fmt(page.data.total)} in all
            {page.data.total > page.data.actors.length ? `, the first ${page.data.actors.length}` : ''}.
          </p>
          <ul class="people-list">
            {page.data.actors.map((a) => (
              <li key={a.id}>
                <Link
                  href={
                    a.kind === 'account'
                      ? `/accounts/${encodeURIComponent(a.id)}`
                      : `/people/${encodeURIComponent(a.id.split('/')[0] ?? a.id)}`
                  }
                >
                  {a.identifiers?.[0] ? `${a.identifiers[0].value}` : a.id}
                </Link>{' '}
                <span class="small muted">reached step {a.reached + 1}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
