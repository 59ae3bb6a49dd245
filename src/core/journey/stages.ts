import { z } from 'zod';
import {
  type Condition,
  compileCondition,
  conditionSchema,
  type Fields,
  type Predicate,
  parseRules,
} from './conditions.js';

/**
 * Lifecycle stages as a declarative model: ordered stages, each entered through triggers
 * (a condition on the event, its properties, the person's traits at that time, and its journey
 * annotations) or through inactivity.
 *
 * Non-linear by design:
 * - a trigger without `from` moves forward only (from no stage or any earlier stage), so a person
 *   can skip stages but a customer reading the blog again is not demoted to Engaged;
 * - a trigger with `from` may be taken from exactly those stages, in any direction: regressions
 *   (Opportunity → Lead on a lost deal), win-backs (Churned → Customer), repeats;
 * - when one event fires several stages, the one furthest down the list wins.
 */

const DAY = 86_400_000;
export const NO_STAGE = '(none)';

const stageIdSchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _');

export const stageModelSchema = z
  .object({
    stages: z
      .array(
        z
          .object({
            id: stageIdSchema,
            name: z.string().min(1).max(100),
            enter: z
              .array(
                z
                  .object({
                    when: conditionSchema,
                    /** Stages this trigger may be taken from (`(none)`: no stage yet). Default: any earlier. */
                    from: z.array(z.string()).min(1).optional(),
                  })
                  .strict(),
              )
              .default([]),
            /** Entered when a person in one of `from` shows no activity for `days`. */
            inactivity: z
              .object({ days: z.number().positive().max(3650), from: z.array(z.string()).min(1) })
              .strict()
              .optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict()
  .superRefine((model, ctx) => {
    const ids = new Set<string>();
    model.stages.forEach((s, i) => {
      if (ids.has(s.id))
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'id'], message: `duplicate stage id "${s.id}"` });
      ids.add(s.id);
    });
    const check = (from: string[] | undefined, path: (string | number)[]) => {
      for (const [j, f] of (from ?? []).entries()) {
        if (f !== NO_STAGE && !ids.has(f))
          ctx.addIssue({ code: 'custom', path: [...path, j], message: `unknown stage "${f}"` });
      }
    };
    model.stages.forEach((s, i) => {
      for (const [k, t] of s.enter.entries()) check(t.from, ['stages', i, 'enter', k, 'from']);
      check(s.inactivity?.from, ['stages', i, 'inactivity', 'from']);
    });
  });
export type StageModel = z.input<typeof stageModelSchema>;

interface CompiledTrigger {
  test: Predicate;
  from: Set<string> | null;
}
interface CompiledStage {
  index: number;
  id: string;
  name: string;
  triggers: CompiledTrigger[];
  inactivity: { ms: number; from: Set<string> } | null;
}

export interface StageSpan {
  stage: string;
  name: string;
  enteredAt: number;
  exitedAt: number | null;
  /** What moved the person here: an event, or inactivity. */
  trigger: { kind: 'event'; messageId: string; event: string | null } | { kind: 'inactivity'; days: number };
}

export class CompiledStageModel {
  private constructor(readonly stages: readonly CompiledStage[]) {}

  static compile(model: StageModel): CompiledStageModel {
    const parsed = parseRules(stageModelSchema, model);
    return new CompiledStageModel(
      parsed.stages.map((s, index) => ({
        index,
        id: s.id,
        name: s.name,
        triggers: s.enter.map((t, k) => ({
          test: compileCondition(t.when as Condition, `stages[${index}].enter[${k}].when`),
          from: t.from ? new Set(t.from) : null,
        })),
        inactivity: s.inactivity ? { ms: s.inactivity.days * DAY, from: new Set(s.inactivity.from) } : null,
      })),
    );
  }

  byId(id: string): CompiledStage | undefined {
    return this.stages.find((s) => s.id === id);
  }
}

/**
 * One person's (or account's) stage, folded event by event in (time, seq) order. The fold only
 * looks backwards, so feeding events in order and replaying after a late one give the same history.
 */
export class StageFold {
  readonly history: StageSpan[] = [];
  private current: CompiledStage | null = null;
  private lastActivity: number | null = null;

  constructor(private readonly model: CompiledStageModel) {}

  /** A fold that already went through events: its history, and the time of its last event. */
  static resume(
    model: CompiledStageModel,
    history: readonly StageSpan[],
    lastActivity: number | null,
  ): StageFold {
    const fold = new StageFold(model);
    fold.history.push(...history.map((h) => ({ ...h })));
    const last = history[history.length - 1];
    fold.current = last ? (model.byId(last.stage) ?? null) : null;
    fold.lastActivity = lastActivity;
    return fold;
  }

  get stage(): string | null {
    return this.current?.id ?? null;
  }

  /** Applies one event; returns the span it opened, if it moved the stage. */
  step(at: number, messageId: string, event: string | null, fields: Fields): StageSpan | null {
    return this.stepMatching(at, messageId, event, (stage, trigger) =>
      (this.model.stages[stage] as CompiledStage).triggers[trigger]!.test(fields),
    );
  }

  /**
   * `step` with the triggers' verdicts given by the caller (`matches(stage index, trigger
   * index)`): the bulk fold evaluates most conditions in SQL (core/journey/stage-sql.ts).
   */
  stepMatching(
    at: number,
    messageId: string,
    event: string | null,
    matches: (stage: number, trigger: number) => boolean,
  ): StageSpan | null {
    this.lapse(at);
    this.lastActivity = at;
    let next: CompiledStage | null = null;
    for (const s of this.model.stages) {
      if (s === this.current) continue;
      if (s.triggers.some((t, k) => this.allowed(s, t.from) && matches(s.index, k))) next = s;
    }
    return next ? this.enter(next, at, { kind: 'event', messageId, event }) : null;
  }

  /**
   * The person was active until `at` with events no trigger matches and no inactivity rule
   * lapses between: only the last one's time matters to the fold (the bulk fold skips them).
   */
  restedUntil(at: number): void {
    this.lastActivity = at;
  }

  /** The history as of `asOf`: includes an inactivity transition that is due but not yet folded. */
  historyAsOf(asOf: number): StageSpan[] {
    const due = this.dueInactivity(asOf);
    if (!due) return this.history.map((h) => ({ ...h }));
    const spans = this.history.map((h) => ({ ...h }));
    const last = spans[spans.length - 1];
    if (last) last.exitedAt = due.at;
    spans.push(span(due.stage, due.at, { kind: 'inactivity', days: due.stage.inactivity!.ms / DAY }));
    return spans;
  }

  private lapse(now: number): void {
    const due = this.dueInactivity(now);
    if (due) this.enter(due.stage, due.at, { kind: 'inactivity', days: due.stage.inactivity!.ms / DAY });
  }

  private dueInactivity(now: number): { stage: CompiledStage; at: number } | null {
    if (this.lastActivity === null) return null;
    const from = this.current?.id ?? NO_STAGE;
    let best: { stage: CompiledStage; at: number } | null = null;
    for (const s of this.model.stages) {
      if (!s.inactivity || s === this.current || !s.inactivity.from.has(from)) continue;
      const at = this.lastActivity + s.inactivity.ms;
      if (at <= now && (best === null || at < best.at)) best = { stage: s, at };
    }
    return best;
  }

  private allowed(s: CompiledStage, from: Set<string> | null): boolean {
    if (from) return from.has(this.current?.id ?? NO_STAGE);
    return this.current === null || s.index > this.current.index;
  }

  private enter(s: CompiledStage, at: number, trigger: StageSpan['trigger']): StageSpan {
    const last = this.history[this.history.length - 1];
    if (last) last.exitedAt = at;
    this.current = s;
    const opened = span(s, at, trigger);
    this.history.push(opened);
    return opened;
  }
}

const span = (s: CompiledStage, at: number, trigger: StageSpan['trigger']): StageSpan => ({
  stage: s.id,
  name: s.name,
  enteredAt: at,
  exitedAt: null,
  trigger,
});
