import type { MessageType } from '../spec/message.js';
import type { BotReason } from './bots.js';
import type { Journey, JourneyStep, ReportedSource, SessionSummary, Touchpoint } from './journey.js';
import { type CompiledStageModel, StageFold, type StageSpan } from './stages.js';

/**
 * A journey read back from the journey tables (migrations 007 and 008) into the shape the
 * journey model gives (journey.ts `Journey`), so the API answers the same whichever computed it.
 * What the tables do not hold is derived here: each step's stage (the history walked along the
 * steps) and the inactivity due after the last event, as of the time asked.
 */

export interface StepRow {
  seq: number;
  messageId: string;
  at: number;
  type: MessageType;
  event: string | null;
  session: number | null;
  touchpoint: number | null;
  channel: string | null;
  selfReported: string | null;
  promoCode: string | null;
}

export interface JourneyRows {
  bot: BotReason | null;
  botEvents: number;
  /** In (time, seq) order. */
  steps: StepRow[];
  touchpoints: Touchpoint[];
  sessions: SessionSummary[];
  /** The stored history (no inactivity due after the last event). */
  stages: StageSpan[];
}

export function journeyFromRows(rows: JourneyRows, model: CompiledStageModel, asOf?: number): Journey {
  if (rows.bot !== null)
    return {
      steps: [],
      touchpoints: [],
      reported: [],
      sessions: [],
      stages: [],
      stage: null,
      bot: rows.bot,
      botEvents: rows.botEvents,
    };
  const steps: JourneyStep[] = [];
  const reported: ReportedSource[] = [];
  const seen = new Set<string>();
  const report = (r: StepRow, field: ReportedSource['field'], value: string | null) => {
    if (value === null) return;
    const k = `${field}\u0000${value.toLowerCase()}`;
    if (seen.has(k)) return;
    seen.add(k);
    reported.push({ at: r.at, messageId: r.messageId, event: r.event, field, value });
  };
  // The stage after each step: inactivity spans enter before the step whose time reaches them
  // (the fold lapses at the next event), an event's span with the event itself.
  let next = 0;
  let stage: string | null = null;
  for (const r of rows.steps) {
    for (;;) {
      const span = rows.stages[next];
      if (!span) break;
      const due =
        span.trigger.kind === 'inactivity' ? span.enteredAt <= r.at : span.trigger.messageId === r.messageId;
      if (!due) break;
      stage = span.stage;
      next++;
    }
    steps.push({
      seq: r.seq,
      messageId: r.messageId,
      at: r.at,
      type: r.type,
      event: r.event,
      session: r.session,
      touchpoint: r.touchpoint,
      channel: r.channel,
      stage,
      bot: null,
    });
    report(r, 'self_reported', r.selfReported);
    report(r, 'promo_code', r.promoCode);
  }
  const last = rows.steps[rows.steps.length - 1];
  // Inactivity after the last event, written by the server's sweep (for lists), is recomputed as
  // of the time asked, as the model does: drop it from the stored history first.
  const folded = rows.stages.map((s) => ({ ...s }));
  while (folded.length > 0) {
    const tail = folded[folded.length - 1] as StageSpan;
    if (tail.trigger.kind !== 'inactivity' || last === undefined || tail.enteredAt <= last.at) break;
    folded.pop();
    const before = folded[folded.length - 1];
    if (before) before.exitedAt = null;
  }
  const stages =
    asOf === undefined ? folded : StageFold.resume(model, folded, last?.at ?? null).historyAsOf(asOf);
  return {
    steps,
    touchpoints: rows.touchpoints,
    reported,
    sessions: rows.sessions,
    stages,
    stage: stages[stages.length - 1]?.stage ?? null,
    bot: null,
    botEvents: rows.botEvents,
  };
}
