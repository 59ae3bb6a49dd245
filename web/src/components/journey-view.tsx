import type { Journey, SessionView, Touchpoint } from '../types';
import { channelColor, channelMark } from './channels';
import { Chart } from './chart';
import { day, Empty, fmt, type Loaded, Show, when } from './state';

/** The profile's "Lifecycle stages" card: the stage history of a loaded journey. */
export function StageCard({ journey }: { journey: Loaded<Journey> }) {
  return (
    <section class="card" aria-labelledby="stage-title">
      <h2 id="stage-title">Lifecycle stages</h2>
      <Show loaded={journey} what="the stage history">
        {(j) => <StageTimeline journey={j} />}
      </Show>
    </section>
  );
}

/** A stage history, drawn as a step line over time (each stage a level), with its spans listed. */
export function StageTimeline({ journey }: { journey: Journey }) {
  if (journey.stages.length === 0) return <p class="muted">No lifecycle stage entered yet.</p>;
  const names = [...new Set(journey.stages.map((s) => s.name))];
  const last = journey.stages[journey.stages.length - 1];
  const points = journey.stages.map((s) => [s.enteredAt, s.name]);
  if (last) points.push([last.exitedAt ?? new Date().toISOString(), last.name]);
  return (
    <>
      <Chart
        label={`Stage history: ${journey.stages.map((s) => `${s.name} from ${day(s.enteredAt)}`).join(', ')}`}
        option={{
          tooltip: { trigger: 'axis' },
          grid: { left: 130, right: 24, top: 12, bottom: 28 },
          xAxis: { type: 'time' },
          yAxis: { type: 'category', data: names },
          series: [{ type: 'line', step: 'end', data: points, symbolSize: 8, lineStyle: { width: 3 } }],
        }}
      />
      <table>
        <thead>
          <tr>
            <th scope="col">Stage</th>
            <th scope="col">Entered</th>
            <th scope="col">Left</th>
            <th scope="col">Because of</th>
          </tr>
        </thead>
        <tbody>
          {journey.stages.map((s, i) => (
            <tr key={i}>
              <td>
                <span class="badge">{s.name}</span>
              </td>
              <td>{when(s.enteredAt)}</td>
              <td>{s.exitedAt ? when(s.exitedAt) : <span class="badge good">now</span>}</td>
              <td class="small">
                {s.trigger.kind === 'event'
                  ? `event “${s.trigger.event ?? '?'}”`
                  : `${s.trigger.days} days without activity`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function ChannelIcon({ channel }: { channel: string | null }) {
  return (
    <span
      class="icon"
      style={{ background: channelColor(channel) }}
      title={channel ?? 'no channel'}
      aria-hidden="true"
    >
      {channelMark(channel)}
    </span>
  );
}

/** Sessions newest first, each with the touchpoints inside it; touchpoints outside sessions apart. */
export function JourneyList({ journey }: { journey: Journey }) {
  if (journey.touchpoints.length === 0 && journey.sessions.length === 0)
    return (
      <Empty title="No journey yet">
        No sessions or touchpoints were derived from this subject's events.
      </Empty>
    );
  const bySession = new Map<number | null, Touchpoint[]>();
  for (const t of journey.touchpoints) {
    const list = bySession.get(t.session) ?? [];
    list.push(t);
    bySession.set(t.session, list);
  }
  const sessions = [...journey.sessions].sort((a, b) => b.index - a.index).slice(0, 100);
  const outside = bySession.get(null) ?? [];
  return (
    <div>
      <p class="small muted">
        {fmt(journey.sessions.length)} sessions · {fmt(journey.touchpoints.length)} touchpoints ·{' '}
        {fmt(journey.totalSteps)} events
        {journey.sessions.length > 100 ? ' · the latest 100 sessions shown' : ''}
      </p>
      {outside.length > 0 && (
        <section class="session" aria-label="Touchpoints outside sessions">
          <h3>Outside sessions (server-side and offline touches)</h3>
          <TouchpointList touchpoints={outside} />
        </section>
      )}
      {sessions.map((s) => (
        <SessionBlock key={s.index} session={s} touchpoints={bySession.get(s.index) ?? []} />
      ))}
    </div>
  );
}

function SessionBlock({ session, touchpoints }: { session: SessionView; touchpoints: Touchpoint[] }) {
  return (
    <section class="session" aria-label={`Session ${session.index + 1}`}>
      <h3 class="row">
        <ChannelIcon channel={session.channel} /> Session {session.index + 1} · {session.channel}
        <span class="small muted">
          {when(session.start)} · {Math.round(session.durationMs / 60000)} min · {fmt(session.eventCount)}{' '}
          events
          {session.bounce ? ' · bounce' : ''}
        </span>
      </h3>
      {session.landingPage && <p class="small muted mono">landed on {session.landingPage}</p>}
      {touchpoints.length > 0 && <TouchpointList touchpoints={touchpoints} />}
    </section>
  );
}

function TouchpointList({ touchpoints }: { touchpoints: Touchpoint[] }) {
  return (
    <ul class="timeline">
      {touchpoints.map((t) => (
        <li key={t.index}>
          <span class="small">{when(t.at)}</span>
          <ChannelIcon channel={t.channel} />
          <span>
            <strong>{t.channel}</strong> <span class="badge">{t.kind}</span>{' '}
            <span class="small muted">
              {[t.event, t.source && `${t.source} / ${t.medium ?? ''}`, t.campaign]
                .filter(Boolean)
                .join(' · ')}
            </span>
          </span>
        </li>
      ))}
    </ul>
  );
}
