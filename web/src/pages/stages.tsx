import type { Durations, StagesResult } from '../../../src/core/analytics/stages-result.js';
import { ParamInput } from '../components/param-input';
import { Empty, fmt, Show } from '../components/state';
import { useAnalytics } from '../components/use-analytics';
import { setParams, useLocation } from '../router';

type Stages = StagesResult & {
  range: { from: string | null; to: string | null };
  freshness: { current: boolean };
};

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
/** A duration in seconds, short: 45 s, 12 min, 5.5 h, 3.2 d. */
export const span = (s: number | null) =>
  s === null
    ? '—'
    : s < 60
      ? `${Math.round(s)} s`
      : s < 3600
        ? `${Math.round(s / 60)} min`
        : s < 86_400
          ? `${(s / 3600).toFixed(1)} h`
          : `${(s / 86_400).toFixed(1)} d`;

/** Read by screen readers, not shown. */
export const SR_ONLY = {
  position: 'absolute',
  width: '1px',
  height: '1px',
  overflow: 'hidden',
  clip: 'rect(0 0 0 0)',
  whiteSpace: 'nowrap',
} as const;

const KIND_LABEL = {
  entry: 'first stage',
  forward: 'next stage',
  skip: 'skips stages',
  regression: 'goes back',
  repeat: 'again',
};
const BIN_LABELS = [
  '< 1 h',
  '1 h–1 d',
  '1–3 d',
  '3–7 d',
  '1–2 wk',
  '2 wk–30 d',
  '30–60 d',
  '60–90 d',
  '90–180 d',
  '180 d–1 y',
  '≥ 1 y',
];

/** Stage analytics: the flow between stages, time in each, drop-off, and velocity by entry month. */
export function StagesPage() {
  const { params } = useLocation();
  const subject = params.get('subject') === 'account' ? 'account' : 'person';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const loaded = useAnalytics<Stages>('/api/analytics/stages', {
    subject,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
  });
  return (
    <div class="stack">
      <div class="row between">
        <h1>Stages</h1>
        <form class="row" aria-label="Stage query" onSubmit={(e) => e.preventDefault()}>
          <label>
            Subjects
            <select
              value={subject}
              onChange={(e) => setParams({ subject: (e.target as HTMLSelectElement).value }, { push: true })}
            >
              <option value="person">Persons</option>
              <option value="account">Accounts</option>
            </select>
          </label>
          <label>
            Entered from
            <ParamInput name="from" type="date" value={from} />
          </label>
          <label>
            Entered to
            <ParamInput name="to" type="date" value={to} />
          </label>
        </form>
      </div>
      <Show loaded={loaded} what="the stage analytics">
        {(r) =>
          r.transitions.length === 0 ? (
            <Empty title="No stage entries">
              <p>No {subject === 'account' ? 'account' : 'person'} entered a stage in this range.</p>
            </Empty>
          ) : (
            <>
              {!r.freshness.current && (
                <p class="small" role="status">
                  The journey tables are catching up with the latest events: numbers may be a little behind.
                </p>
              )}
              <StageTable r={r} />
              <Matrix r={r} />
              <TimeInStage r={r} />
              <Velocity r={r} />
            </>
          )
        }
      </Show>
    </div>
  );
}

function StageTable({ r }: { r: Stages }) {
  const top = Math.max(1, ...r.stages.map((s) => s.entered));
  return (
    <section class="card" aria-labelledby="stage-table-title">
      <h2 id="stage-table-title">Drop-off per stage</h2>
      <table aria-label="Drop-off per stage">
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col" class="num">
              Entered
            </th>
            <th scope="col">
              <span style={SR_ONLY}>Went further and dropped off, as a bar</span>
            </th>
            <th scope="col" class="num">
              Went further
            </th>
            <th scope="col" class="num">
              Dropped off
            </th>
            <th scope="col" class="num">
              Drop-off rate
            </th>
            <th scope="col" class="num">
              In it now
            </th>
          </tr>
        </thead>
        <tbody>
          {r.stages.map((s) => (
            <tr key={s.id} data-stage={s.id}>
              <th scope="row">{s.name}</th>
              <td class="num">{fmt(s.entered)}</td>
              <td style={{ width: '30%' }} aria-hidden="true">
                <div style={{ display: 'flex', height: '12px', width: `${(s.entered / top) * 100}%` }}>
                  <div style={{ flex: s.advanced, background: '#2563eb' }} />
                  <div style={{ flex: s.dropped, background: '#f59e0b' }} />
                </div>
              </td>
              <td class="num">{fmt(s.advanced)}</td>
              <td class="num">{fmt(s.dropped)}</td>
              <td class="num">{pct(s.dropOffRate)}</td>
              <td class="num">{fmt(s.current)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="small">
        Blue: went on to a later stage of the model; amber: never did (dropped off). Entries counted from{' '}
        {r.range.from ? r.range.from.slice(0, 10) : 'the start'} to{' '}
        {r.range.to ? r.range.to.slice(0, 10) : 'now'}.
      </p>
    </section>
  );
}

function Matrix({ r }: { r: Stages }) {
  const used = new Set(r.transitions.flatMap((t) => [t.from, t.to]));
  const rows = ['(none)', ...r.model.map((m) => m.id)].filter((id) => used.has(id));
  const cols = r.model.filter((m) => used.has(m.id));
  const nameOf = (id: string) =>
    id === '(none)' ? '(start)' : (r.model.find((m) => m.id === id)?.name ?? id);
  const top = Math.max(1, ...r.transitions.map((t) => t.count));
  return (
    <section class="card" aria-labelledby="matrix-title">
      <h2 id="matrix-title">Transitions</h2>
      <div style={{ overflowX: 'auto' }}>
        <table aria-label="Transitions: from the stage of the row to the stage of the column">
          <thead>
            <tr>
              <th scope="col">From \ to</th>
              {cols.map((c) => (
                <th key={c.id} scope="col" class="num">
                  {c.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((from) => (
              <tr key={from}>
                <th scope="row">{nameOf(from)}</th>
                {cols.map((c) => {
                  const t = r.transitions.find((x) => x.from === from && x.to === c.id);
                  if (!t)
                    return (
                      <td key={c.id} class="num" style={{ color: '#9ca3af' }}>
                        ·
                      </td>
                    );
                  const tone =
                    t.kind === 'regression'
                      ? '254, 226, 226'
                      : t.kind === 'skip'
                        ? '254, 243, 199'
                        : '219, 234, 254';
                  return (
                    <td
                      key={c.id}
                      class="num"
                      data-transition={`${t.from}>${t.to}`}
                      title={`${nameOf(t.from)} → ${nameOf(t.to)}: ${t.count} (${t.subjects} ${r.subject}s), ${KIND_LABEL[t.kind]}`}
                      style={{ background: `rgba(${tone}, ${0.35 + 0.65 * (t.count / top)})` }}
                    >
                      {fmt(t.count)}
                      {t.kind === 'skip' ? ' »' : t.kind === 'regression' ? ' ↩' : ''}
                      <span style={SR_ONLY}>{` (${KIND_LABEL[t.kind]})`}</span>
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="small">» skips stages of the model (amber); ↩ goes back to an earlier stage (red).</p>
    </section>
  );
}

function Histogram({ d, label }: { d: Durations; label: string }) {
  const top = Math.max(1, ...d.bins.map(([, n]) => n));
  return (
    <div
      role="img"
      aria-label={`${label}: ${
        d.bins
          .filter(([, n]) => n > 0)
          .map(([, n], i) => `${n} in ${BIN_LABELS[i]}`)
          .join(', ') || 'none'
      }`}
      style={{ display: 'flex', alignItems: 'flex-end', gap: '2px', height: '28px' }}
    >
      {d.bins.map(([lo, n], i) => (
        <div
          key={lo}
          title={`${BIN_LABELS[i]}: ${n}`}
          style={{
            width: '8px',
            height: `${Math.max(n ? 3 : 1, (n / top) * 28)}px`,
            background: n ? '#2563eb' : '#e5e7eb',
          }}
        />
      ))}
    </div>
  );
}

function TimeInStage({ r }: { r: Stages }) {
  const rows = r.stages.filter((s) => s.entered > 0);
  return (
    <section class="card" aria-labelledby="time-title">
      <h2 id="time-title">Time in stage</h2>
      <table aria-label="Time in stage">
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col" class="num">
              Left it
            </th>
            <th scope="col" class="num">
              Median
            </th>
            <th scope="col" class="num">
              75th percentile
            </th>
            <th scope="col" class="num">
              Mean
            </th>
            <th scope="col">Distribution (&lt; 1 h … ≥ 1 y)</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr key={s.id} data-time={s.id}>
              <th scope="row">{s.name}</th>
              <td class="num">{fmt(s.timeInStage.count)}</td>
              <td class="num">{span(s.timeInStage.medianS)}</td>
              <td class="num">{span(s.timeInStage.p75S)}</td>
              <td class="num">{span(s.timeInStage.meanS)}</td>
              <td>
                <Histogram d={s.timeInStage} label={`Time in ${s.name}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="small">
        From entering a stage to entering the next one; subjects still in a stage are not counted.
      </p>
    </section>
  );
}

function Velocity({ r }: { r: Stages }) {
  const stages = r.model.filter((m) => r.velocity.some((v) => v.stages.some((s) => s.stage === m.id)));
  if (r.velocity.length === 0) return null;
  return (
    <section class="card" aria-labelledby="velocity-title">
      <h2 id="velocity-title">Velocity by entry month</h2>
      <div style={{ overflowX: 'auto' }}>
        <table aria-label="Median days from the first stage to each later stage, by month of entering the first stage">
          <thead>
            <tr>
              <th scope="col">Cohort</th>
              <th scope="col" class="num">
                {r.subject === 'account' ? 'Accounts' : 'Persons'}
              </th>
              {stages.map((s) => (
                <th key={s.id} scope="col" class="num">
                  {s.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.velocity.map((v) => (
              <tr key={v.cohort} data-cohort={v.cohort}>
                <th scope="row">{v.cohort}</th>
                <td class="num">{fmt(v.subjects)}</td>
                {stages.map((s) => {
                  const x = v.stages.find((y) => y.stage === s.id);
                  return (
                    <td key={s.id} class="num">
                      {x ? `${x.medianDays?.toFixed(1)} d (${x.reached})` : '—'}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="small">
        Median days from a subject's first stage to each later stage (in brackets: how many reached it).
      </p>
    </section>
  );
}
