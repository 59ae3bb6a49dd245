import { IdentityGraph } from '../core/identity/identity-graph.js';
import { CompiledRules, DEFAULT_RULES } from '../core/identity/identity-rules.js';
import { resolveEvent } from '../core/identity/resolve-event.js';
import { buildJourney, type JourneyConfig } from '../core/journey/journey.js';
import { type JourneyEvent, journeyEventOf } from '../core/journey/journey-event.js';
import { compileJourneySettings } from '../core/journey/journey-settings.js';
import { importLine } from '../core/spec/import-line.js';
import type { UnitOutput } from './simulate.js';
import { type ScoredTouchpoint, scoreTouches, type TouchScore, type TouchTruth } from './touch-score.js';

/**
 * Runs simulated units through what the server does to them, in memory — each line validated and
 * normalised (clock-skew correction included), duplicates dropped, identities resolved, each
 * person's events built into a journey with the workspace defaults — and scores the touchpoints
 * against the truth. The CLI's `journeys evaluate` does the same through a real data directory
 * or server; this is the fast form for tests.
 */
export function scoreJourneys(
  units: Iterable<UnitOutput>,
  now: number,
  config: JourneyConfig = compileJourneySettings({}).config,
): TouchScore & { persons: number } {
  const rules = new CompiledRules(DEFAULT_RULES);
  const graph = new IdentityGraph(rules);
  const truth: TouchTruth = { channels: new Map(), messages: 0 };
  const filed: { identifier: number; event: JourneyEvent }[] = [];
  const seen = new Set<string>();
  let seq = 0;
  for (const unit of units) {
    for (const m of unit.messages) {
      if (seen.has(m.messageId)) continue;
      seen.add(m.messageId);
      truth.messages++;
      if (m.channel !== null) truth.channels.set(m.messageId, m.channel);
      const r = importLine(m.line, { workspaceId: 'ws', seq: ++seq, now, newMessageId: () => `gen-${seq}` });
      if (!r.ok) continue;
      const { primary } = resolveEvent(graph, r.value);
      if (primary !== null) filed.push({ identifier: primary, event: journeyEventOf(r.value) });
    }
  }
  const byPerson = new Map<number, JourneyEvent[]>();
  for (const f of filed) {
    const p = graph.personOf(f.identifier);
    const list = byPerson.get(p);
    if (list) list.push(f.event);
    else byPerson.set(p, [f.event]);
  }
  const touchpoints: ScoredTouchpoint[] = [];
  for (const events of byPerson.values()) {
    for (const t of buildJourney(events, config, now).touchpoints)
      touchpoints.push({ messageId: t.messageId, channel: t.channel });
  }
  return { ...scoreTouches(truth, touchpoints), persons: byPerson.size };
}
