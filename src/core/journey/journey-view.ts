import type { Journey } from './journey.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A journey for the API: ISO times, steps paged. */
export function journeyView(j: Journey, page: { limit: number; offset: number }) {
  return {
    stage: j.stage,
    bot: j.bot,
    botEvents: j.botEvents,
    stages: j.stages.map((s) => ({ ...s, enteredAt: iso(s.enteredAt), exitedAt: iso(s.exitedAt) })),
    touchpoints: j.touchpoints.map((t) => ({ ...t, at: iso(t.at) })),
    reported: j.reported.map((r) => ({ ...r, at: iso(r.at) })),
    sessions: j.sessions.map((s) => ({ ...s, start: iso(s.start), end: iso(s.end) })),
    totalSteps: j.steps.length,
    steps: j.steps.slice(page.offset, page.offset + page.limit).map((s) => ({ ...s, at: iso(s.at) })),
  };
}
