import type { RetentionResult } from '../../../src/core/analytics/retention-result.js';
import { ParamInput } from '../components/param-input';
import { Empty, fmt, Show } from '../components/state';
import { useAnalytics } from '../components/use-analytics';
import { setParams, useLocation } from '../router';
import { span } from './stages';

type Retention = RetentionResult & { range: { from: string; to: string }; freshness: { current: boolean } };

const PERIODS = ['day', 'week', 'month'] as const;
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

/**
 * The cell colour of a share: deeper blue for more retained, with a text colour that keeps the
 * contrast above 4.5:1 (axe checks it).
 */
function cellStyle(share: number | null) {
  if (share === null) return {};
  // Two bands with a jump between them: dark text on light blues (lightness 97–65%), white text
  // on deep blues (42–28%); the shades in between would fail contrast with either text colour.
  const lightness = share < 0.5 ? 97 - share * 2 * 32 : 42 - (share - 0.5) * 2 * 14;
  return {
    background: `hsl(217, 85%, ${lightness.toFixed(0)}%)`,
    color: share < 0.5 ? '#111827' : '#fff',
  };
}

/** Retention cohorts as a heat map, churn by period, and the activation rate. */
export function RetentionPage() {
  const { params } = useLocation();
  const period = (PERIODS as readonly string[]).includes(params.get('period') ?? '')
    ? (params.get('period') as (typeof PERIODS)[number])
    : 'week';
  const intervals = Number(params.get('intervals') ?? '8') || 8;
  const target = params.get('target') ?? '';
  const returning = params.get('returning') ?? '';
  const firstTime = params.get('type') === 'first_time';
  const to = params.get('to') ?? '';
  const signup = params.get('signup') ?? '';
  const activation = params.get('activation') ?? '';
  const within = Number(params.get('within') ?? '7') || 7;
  const loaded = useAnalytics<Retention>('/api/analytics/retention', {
    period,
    intervals,
    ...(target ? { targetEvent: { event: target } } : {}),
    ...(returning ? { returningEvent: { event: returning } } : {}),
    retentionType: firstTime ? 'first_time' : 'recurring',
    ...(to ? { to } : {}),
    ...(signup && activation
      ? {
          activation: {
            signupEvent: { event: signup },
            activationEvent: { event: activation },
            withinDays: within,
          },
        }
      : {}),
  });
  return (
    <div class="stack">
      <h1>Retention</h1>
      <form
        class="row"
        aria-label="Retention query"
        style={{ flexWrap: 'wrap' }}
        onSubmit={(e) => e.preventDefault()}
      >
        <label>
          Cohort by
          <select
            value={period}
            onChange={(e) => setParams({ period: (e.target as HTMLSelectElement).value }, { push: true })}
          >
            <option value="day">Day</option>
            <option value="week">Week</option>
            <option value="month">Month</option>
          </select>
        </label>
        <label>
          Cohorts
          <ParamInput
            name="intervals"
            type="number"
            min={1}
            max={60}
            value={intervals}
            style={{ width: '6em' }}
          />
        </label>
        <label>
          Cohort event (blank: any)
          <ParamInput name="target" value={target} placeholder="Signed Up" />
        </label>
        <label>
          Returning event (blank: any)
          <ParamInput name="returning" value={returning} placeholder="Report Viewed" />
        </label>
        <label>
          Last cohort
          <ParamInput name="to" type="date" value={to} />
        </label>
        <label style={{ flexDirection: 'row', alignItems: 'center' }}>
          <input
            type="checkbox"
            checked={firstTime}
            onChange={(e) =>
              setParams(
                { type: (e.target as HTMLInputElement).checked ? 'first_time' : undefined },
                { push: true },
              )
            }
          />
          First time only
        </label>
        <label>
          Activation: signup event
          <ParamInput name="signup" value={signup} placeholder="Signed Up" />
        </label>
        <label>
          activated by
          <ParamInput name="activation" value={activation} placeholder="Dashboard Created" />
        </label>
        <label>
          within days
          <ParamInput name="within" type="number" min={1} max={365} value={within} style={{ width: '5em' }} />
        </label>
      </form>
      <Show loaded={loaded} what="the retention table">
        {(r) =>
          r.rows.every((x) => x.values[0] === 0) ? (
            <Empty title="No cohorts">
              <p>No one did the cohort event in this range.</p>
            </Empty>
          ) : (
            <>
              {!r.freshness.current && (
                <p class="small" role="status">
                  The journey tables are catching up with the latest events: numbers may be a little behind.
                </p>
              )}
              {r.activation && (
                <section class="card" aria-labelledby="activation-title">
                  <h2 id="activation-title">Activation</h2>
                  <p data-activation>
                    <strong>{pct(r.activation.rate)}</strong> activated within {r.activation.withinDays} days:{' '}
                    {fmt(r.activation.activated)} of {fmt(r.activation.signedUp)} signed up (median{' '}
                    {span(r.activation.medianTimeToActivateS)}).
                  </p>
                </section>
              )}
              <Heatmap r={r} />
              <Churn r={r} />
            </>
          )
        }
      </Show>
    </div>
  );
}

function Heatmap({ r }: { r: Retention }) {
  const n = r.rows.length;
  const date = (iso: string) => (r.period === 'month' ? iso.slice(0, 7) : iso.slice(0, 10));
  return (
    <section class="card" aria-labelledby="cohorts-title">
      <h2 id="cohorts-title">
        Cohorts by {r.period} ({r.retentionType === 'first_time' ? 'first time' : 'recurring'})
      </h2>
      <div style={{ overflowX: 'auto' }}>
        <table aria-label="Retention by cohort: the share of each cohort returning in each later period">
          <thead>
            <tr>
              <th scope="col">Cohort</th>
              <th scope="col" class="num">
                Size
              </th>
              {r.labels.slice(1).map((l) => (
                <th key={l} scope="col" class="num">
                  {l}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {r.rows.map((row, i) => (
              <tr key={row.date} data-cohort={row.date}>
                <th scope="row">{date(row.date)}</th>
                <td class="num">{fmt(row.values[0])}</td>
                {row.values.slice(1).map((v, k) => {
                  const key = `${row.date}-${k}`;
                  if (i + k + 1 >= n) return <td key={key} />;
                  const share = row.percentages[k + 1] ?? null;
                  return (
                    <td
                      key={key}
                      class="num"
                      style={cellStyle(share)}
                      title={`${fmt(v)} of ${fmt(row.values[0])}`}
                    >
                      {share === null ? '—' : `${Math.round(share * 100)}%`}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p class="small">
        Size: who did the cohort event in that {r.period}; each later column: the share of them who did the
        returning event {r.period}s later.
      </p>
    </section>
  );
}

function Churn({ r }: { r: Retention }) {
  const date = (iso: string) => (r.period === 'month' ? iso.slice(0, 7) : iso.slice(0, 10));
  return (
    <section class="card" aria-labelledby="churn-title">
      <h2 id="churn-title">Churn by {r.period}</h2>
      <table aria-label={`Churn by ${r.period}`}>
        <thead>
          <tr>
            <th scope="col">{r.period[0]?.toUpperCase() + r.period.slice(1)}</th>
            <th scope="col" class="num">
              Active the {r.period} before
            </th>
            <th scope="col" class="num">
              Not active in it
            </th>
            <th scope="col" class="num">
              Churn rate
            </th>
          </tr>
        </thead>
        <tbody>
          {r.churn.map((c) => (
            <tr key={c.date} data-churn={c.date}>
              <th scope="row">{date(c.date)}</th>
              <td class="num">{fmt(c.previousActive)}</td>
              <td class="num">{fmt(c.churned)}</td>
              <td class="num">{pct(c.rate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="small">Active: did the returning event in that {r.period}.</p>
    </section>
  );
}
