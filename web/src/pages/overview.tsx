import { query } from '../api';
import { channelColor } from '../components/channels';
import { Chart } from '../components/chart';
import { KpiCards } from '../components/kpi-cards';
import { day, Empty, fmt, Link, money, Show, useApi, when } from '../components/state';
import { navigate, setParams, useLocation } from '../router';
import type { Overview } from '../types';

const RANGES = { '7d': 7, '30d': 30, '90d': 90, '365d': 365 } as const;
type Range = keyof typeof RANGES;

export function OverviewPage() {
  const { params } = useLocation();
  const range = (params.get('range') as Range | null) ?? '30d';
  const days = RANGES[range] ?? 30;
  // Whole days, so that the URL and the answer stay the same while the page is open.
  const to = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000);
  const from = new Date(to.getTime() - days * 86_400_000);
  const bucket = days > 120 ? 'week' : 'day';
  const loaded = useApi<Overview>(
    `/api/overview${query({ from: from.toISOString(), to: to.toISOString(), bucket })}`,
  );
  const since = from.toISOString();
  const until = to.toISOString();
  return (
    <div class="stack">
      <div class="row between">
        <h1>Overview</h1>
        <label>
          Date range
          <select
            value={range}
            onChange={(e) => setParams({ range: (e.target as HTMLSelectElement).value }, { push: true })}
          >
            <option value="7d">Last 7 days</option>
            <option value="30d">Last 30 days</option>
            <option value="90d">Last 90 days</option>
            <option value="365d">Last 365 days</option>
          </select>
        </label>
      </div>
      <Show loaded={loaded} what="the overview">
        {(o) =>
          o.totals.events === 0 && o.stages.length === 0 ? (
            <FirstRun />
          ) : (
            <>
              <section class="grid cols-4" aria-label="Totals">
                <Stat
                  label="Events"
                  value={fmt(o.totals.events)}
                  href="/live"
                  linkLabel="events: the live page"
                />
                <Stat
                  label="Persons active"
                  value={fmt(o.totals.persons)}
                  href={`/people${query({ seenFrom: since, seenTo: until })}`}
                  linkLabel="persons active in the range"
                />
                <Stat
                  label="Accounts active"
                  value={fmt(o.totals.accounts)}
                  href={`/accounts${query({ seenFrom: since, seenTo: until })}`}
                  linkLabel="accounts active in the range"
                />
                <Stat
                  label={`Touchpoints (${fmt(o.totals.touchpoints)}), persons touched`}
                  value={fmt(o.totals.touchedPersons)}
                  href={`/people${query({ touchedFrom: since, touchedTo: until })}`}
                  linkLabel="persons with a touchpoint in the range"
                />
              </section>
              <KpiCards from={since} to={until} />
              <section class="card" aria-labelledby="trend-title">
                <h2 id="trend-title">Activity by {o.range.bucket}</h2>
                <Chart
                  label={`Events, active persons and accounts, touchpoints and conversions per ${o.range.bucket} from ${day(o.range.from)} to ${day(o.range.to)}`}
                  option={{
                    tooltip: { trigger: 'axis' },
                    legend: { top: 0 },
                    grid: { left: 56, right: 56, top: 36, bottom: 28 },
                    xAxis: { type: 'time' },
                    yAxis: [
                      { type: 'value', name: 'events' },
                      { type: 'value', name: 'persons' },
                    ],
                    series: [
                      {
                        name: 'Events',
                        type: 'line',
                        showSymbol: false,
                        data: o.trend.map((t) => [t.at, t.events]),
                      },
                      {
                        name: 'Persons (journeys)',
                        type: 'line',
                        yAxisIndex: 1,
                        showSymbol: false,
                        data: o.trend.map((t) => [t.at, t.persons]),
                      },
                      {
                        name: 'Accounts (journeys)',
                        type: 'line',
                        yAxisIndex: 1,
                        showSymbol: false,
                        data: o.trend.map((t) => [t.at, t.accounts]),
                      },
                      {
                        name: 'Touchpoints',
                        type: 'line',
                        yAxisIndex: 1,
                        showSymbol: false,
                        data: o.trend.map((t) => [t.at, t.touchpoints]),
                      },
                      {
                        name: 'Conversions',
                        type: 'bar',
                        yAxisIndex: 1,
                        data: o.trend.map((t) => [t.at, t.conversions]),
                      },
                    ],
                  }}
                />
              </section>
              <div class="grid cols-2">
                <section class="card" aria-labelledby="channels-title">
                  <h2 id="channels-title">Channel mix (touchpoints)</h2>
                  {o.channels.length === 0 ? (
                    <p class="muted">No touchpoints in this range.</p>
                  ) : (
                    <>
                      <Chart
                        label="Touchpoints by channel"
                        onClick={(channel) => {
                          navigate(`/people${query({ channel, touchedFrom: since, touchedTo: until })}`);
                        }}
                        option={{
                          tooltip: { trigger: 'item' },
                          grid: { left: 120, right: 24, top: 8, bottom: 24 },
                          xAxis: { type: 'value' },
                          yAxis: { type: 'category', inverse: true, data: o.channels.map((c) => c.channel) },
                          series: [
                            {
                              type: 'bar',
                              data: o.channels.map((c) => ({
                                value: c.touchpoints,
                                itemStyle: { color: channelColor(c.channel) },
                              })),
                            },
                          ],
                        }}
                      />
                      <ul class="pill-list" aria-label="Persons by channel">
                        {o.channels.map((c) => (
                          <li key={c.channel} style={{ listStyle: 'none' }}>
                            <Link
                              href={`/people${query({ channel: c.channel, touchedFrom: since, touchedTo: until })}`}
                            >
                              {c.channel} · {fmt(c.touchpoints)}
                            </Link>
                          </li>
                        ))}
                      </ul>
                    </>
                  )}
                </section>
                <section class="card" aria-labelledby="stages-title">
                  <h2 id="stages-title">Lifecycle stages now</h2>
                  {o.stages.length === 0 ? (
                    <p class="muted">
                      No one has entered a stage yet (the journey tables may still be building).
                    </p>
                  ) : (
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">Stage</th>
                          <th scope="col" class="num">
                            Persons
                          </th>
                          <th scope="col" class="num">
                            Accounts
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {o.stages.map((s) => (
                          <tr key={s.stage}>
                            <td>{s.name}</td>
                            <td class="num">
                              <Link href={`/people${query({ stage: s.stage })}`}>{fmt(s.persons)}</Link>
                            </td>
                            <td class="num">
                              <Link href={`/accounts${query({ stage: s.stage })}`}>{fmt(s.accounts)}</Link>
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </section>
              </div>
              <div class="grid cols-2">
                <section class="card" aria-labelledby="conversions-title">
                  <h2 id="conversions-title">Recent conversions ({fmt(o.totals.conversions)} in range)</h2>
                  {o.recentConversions.length === 0 ? (
                    <p class="muted">No conversions in this range.</p>
                  ) : (
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">When</th>
                          <th scope="col">Event</th>
                          <th scope="col">Person</th>
                          <th scope="col" class="num">
                            Revenue
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {o.recentConversions.map((c, i) => (
                          <tr key={i}>
                            <td>{when(c.at)}</td>
                            <td>{c.event}</td>
                            <td>
                              {c.personId ? (
                                <Link href={`/people/${encodeURIComponent(c.personId)}`}>{c.personId}</Link>
                              ) : (
                                '—'
                              )}
                            </td>
                            <td class="num">{money(c.revenue)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </section>
                <section class="card" aria-labelledby="pipeline-title">
                  <h2 id="pipeline-title">Pipeline</h2>
                  <dl class="kv">
                    <dt>Load lag</dt>
                    <dd>
                      {fmt(o.pipeline.log?.lagRows ?? 0)} messages ·{' '}
                      {((o.pipeline.log?.lagMs ?? 0) / 1000).toFixed(1)} s
                    </dd>
                    <dt>Identity lag</dt>
                    <dd>{fmt(o.pipeline.identity?.lagRows ?? 0)} messages</dd>
                  </dl>
                  <p class="small muted">
                    Messages accepted by the collector but not yet in the tables these pages read.
                  </p>
                </section>
              </div>
            </>
          )
        }
      </Show>
    </div>
  );
}

function Stat({
  label,
  value,
  href,
  linkLabel,
}: {
  label: string;
  value: string;
  href: string;
  linkLabel: string;
}) {
  return (
    <div class="card stat">
      <span class="label">{label}</span>
      <Link href={href} class="value" ariaLabel={`${value} ${linkLabel}`}>
        {value}
      </Link>
    </div>
  );
}

/** What a new workspace shows: how to get data in. */
function FirstRun() {
  return (
    <Empty title="No events yet">
      <p>Throughline fills this page as soon as events arrive. Two ways to start:</p>
      <ol>
        <li>
          Point a Segment or RudderStack SDK (or analytics.js) at this server:{' '}
          <Link href="/settings">Settings</Link> has the write key and copy-paste snippets.
        </li>
        <li>
          Or load a realistic simulated company: run <code>npm run demo</code> in a second terminal.
        </li>
      </ol>
      <p class="small muted">This page refreshes when you come back to it.</p>
    </Empty>
  );
}
