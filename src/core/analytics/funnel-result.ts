import { type FoldArgs, type FoldEvent, type FoldResult, foldFunnel } from './funnel-fold.js';
import type { FunnelQuery } from './funnel-query.js';
import { windowMs } from './funnel-query.js';
import type { FunnelResult, FunnelStepResult } from './funnel-types.js';

/**
 * From candidate rows to the funnel's answer: each actor's events folded (funnel-fold.ts), once
 * for the whole funnel and once per breakdown value it carries; then counts, conversion rates,
 * drop-off and times to convert per step, the time-to-convert histogram, and the breakdown rows.
 */

export type { FunnelResult, FunnelStepResult } from './funnel-types.js';

/** One actor's outcome: the furthest step (0-based) and, per breakdown value, its own. */
export interface ActorOutcome {
  actor: number;
  reached: number;
  times: number[];
  /** The actor's last try at the funnel (its last entry row): still within the window or not. */
  lastEntryMs: number;
  byValue: (FoldResult & { lastEntryMs: number })[];
}

/** A candidate row as the store reads it. */
export interface CandidateRow {
  actor: number;
  seq: number;
  ms: number;
  steps: number;
  exclusions: number;
  breakdown: string | null;
}

/** The peer's step list of a row: matched steps (1-based) ascending, then exclusions negated. */
export function stepsOf(steps: number, exclusions: number, n: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) if (steps & (1 << k)) out.push(k + 1);
  for (let i = 1; i < n; i++) if (exclusions & (1 << i)) out.push(-(i + 1));
  return out;
}

/** Folds one actor's rows (already in time order). */
export function outcomeOf(actor: number, rows: readonly CandidateRow[], q: FunnelQuery): ActorOutcome | null {
  const n = q.steps.length;
  const events: (FoldEvent & { value: string | null })[] = rows.map((r) => ({
    ms: r.ms,
    id: r.seq,
    steps: stepsOf(r.steps, r.exclusions, n),
    breakdown: r.breakdown ?? '',
    value: r.breakdown,
  }));
  const args: FoldArgs = { steps: n, windowMs: windowMs(q), order: q.order };
  const whole = foldFunnel(events, args, '');
  if (whole.reached < 0) return null;
  const entries = rows.filter((r) => (q.order === 'unordered' ? r.steps !== 0 : (r.steps & 1) !== 0));
  const lastEntryMs = entries.length
    ? (entries[entries.length - 1] as CandidateRow).ms
    : Number.NEGATIVE_INFINITY;
  const byValue: ActorOutcome['byValue'] = [];
  const b = q.breakdown;
  if (b) {
    const withArgs: FoldArgs = {
      ...args,
      ...(b.attribution === 'step' ? { attributionStep: b.step } : {}),
      ...(b.attribution === 'all_events' ? { allEvents: true } : {}),
    };
    // A first- or last-touch value only labels the actor's one fold (the value matters to the
    // fold only for all_events and step attribution): the whole fold's result, relabelled.
    const touch = b.attribution === 'first_touch' || b.attribution === 'last_touch';
    for (const value of valuesOf(events, b, q.order)) {
      const r = touch ? { ...whole, breakdown: value } : foldFunnel(events, withArgs, value);
      if (r.reached >= 0) byValue.push({ ...r, lastEntryMs });
    }
  }
  return { actor, reached: whole.reached, times: whole.times, lastEntryMs, byValue };
}

/** The breakdown values an actor is run with (the peer's `prop_vals`). */
function valuesOf(
  events: readonly (FoldEvent & { value: string | null })[],
  b: NonNullable<FunnelQuery['breakdown']>,
  order: FunnelQuery['order'],
): string[] {
  const stepEvents = events.filter((e) => e.steps.some((s) => s > 0));
  if (b.attribution === 'first_touch' || b.attribution === 'last_touch') {
    const valued = stepEvents.filter((e) => e.value !== null);
    const pick = b.attribution === 'first_touch' ? valued[0] : valued[valued.length - 1];
    return [pick?.value ?? ''];
  }
  // An unordered funnel has no step order to attribute to: every step event's value, as the peer.
  const from =
    b.attribution === 'step' && order !== 'unordered'
      ? stepEvents.filter((e) => e.steps.includes(b.step + 1))
      : stepEvents;
  return [...new Set(from.map((e) => e.value ?? ''))];
}

/** Step results of a set of outcomes (reached, times) for a funnel of `names`. */
export function stepResults(
  outcomes: readonly { reached: number; times: number[]; lastEntryMs: number }[],
  names: readonly string[],
  onlyStep0 = 0,
  /** Still within the window: from `openAt` on, an attempt that started then can still go on. */
  open: { onlyStep0: number; openAfter: number } = { onlyStep0: 0, openAfter: Number.POSITIVE_INFINITY },
): FunnelStepResult[] {
  // One pass over the outcomes: how many reached each step, how many stopped at each step still
  // within their window, and the times between consecutive steps.
  const n = names.length;
  const counts = new Array<number>(n).fill(0);
  const stillOpen = new Array<number>(n).fill(0);
  const durations: number[][] = names.map(() => []);
  for (const o of outcomes) {
    const reached = Math.min(o.reached, n - 1);
    for (let k = 0; k <= reached; k++) counts[k] = (counts[k] as number) + 1;
    if (o.reached >= 0 && o.reached < n && o.lastEntryMs > open.openAfter)
      stillOpen[o.reached] = (stillOpen[o.reached] as number) + 1;
    for (let k = 1; k <= reached; k++)
      (durations[k] as number[]).push(((o.times[k] as number) - (o.times[k - 1] as number)) / 1000);
  }
  counts[0] = (counts[0] as number) + onlyStep0;
  return names.map((name, k) => {
    const count = counts[k] as number;
    const previous = k === 0 ? count : (counts[k - 1] as number);
    const sorted = (durations[k] as number[]).sort((a, b) => a - b);
    return {
      index: k,
      name,
      count,
      conversionRate: ratio(count, counts[0] as number),
      stepConversionRate: ratio(count, previous),
      dropOff: k === 0 ? 0 : previous - count,
      stillInWindow: k === 0 ? 0 : (stillOpen[k - 1] as number) + (k === 1 ? open.onlyStep0 : 0),
      averageTimeToConvertS: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : null,
      medianTimeToConvertS: quantile(sorted, 0.5),
      p75TimeToConvertS: quantile(sorted, 0.75),
    };
  });
}

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

/** The q-quantile of sorted values, interpolated linearly (the median of an even count is the mean of the middle two). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

/**
 * The time-to-convert histogram as the peer draws it: ⌈∛n⌉ bins of a whole number of seconds
 * from the fastest conversion, plus one bin starting at the slowest; `[[bin start s, count], …]`.
 */
export function timeToConvertBins(seconds: readonly number[]): [number, number][] {
  if (seconds.length === 0) return [];
  const min = Math.min(...seconds);
  const max = Math.max(...seconds);
  const count = Math.ceil(Math.cbrt(seconds.length));
  const width = Math.ceil((max - min) / count) || 60;
  const bins: [number, number][] = Array.from({ length: count + 1 }, (_, i) => [min + i * width, 0]);
  for (const s of seconds) {
    const i = Math.min(count, Math.floor((s - min) / width));
    (bins[i] as [number, number])[1]++;
  }
  return bins;
}

/**
 * Actors counted in SQL, never folded: they did step 0 and nothing more (funnel-sql.ts), in all
 * (`total`) and per breakdown value.
 */
export interface OnlyStep0 {
  total: number;
  /** Of those, still within the window of their last try at step 0 (they may yet convert). */
  open: number;
  byValue: Map<string, number>;
  openByValue: Map<string, number>;
}

export const NO_ONLY_STEP0: OnlyStep0 = { total: 0, open: 0, byValue: new Map(), openByValue: new Map() };

/** The whole answer from every actor's outcome (and those who only did step 0). */
export function funnelResult(
  outcomes: readonly ActorOutcome[],
  q: FunnelQuery,
  only: OnlyStep0 = NO_ONLY_STEP0,
  /** Now: who started an attempt within the last window may still convert. */
  nowMs = Number.POSITIVE_INFINITY,
): FunnelResult {
  const openAfter = nowMs - windowMs(q);
  const names =
    q.order === 'unordered'
      ? q.steps.map((_, k) => `Completed ${k + 1} step${k ? 's' : ''}`)
      : q.steps.map((s) => s.name);
  const last = q.steps.length - 1;
  const total = outcomes
    .filter((o) => o.reached === last && last > 0)
    .map((o) => ((o.times[last] as number) - (o.times[0] as number)) / 1000)
    .sort((a, b) => a - b);
  const result: FunnelResult = {
    steps: stepResults(outcomes, names, only.total, { onlyStep0: only.open, openAfter }),
    timeToConvert: {
      bins: timeToConvertBins(total),
      averageS: total.length ? total.reduce((a, b) => a + b, 0) / total.length : null,
      medianS: quantile(total, 0.5),
    },
  };
  if (q.breakdown) {
    const byValue = new Map<string, ActorOutcome['byValue']>([...only.byValue.keys()].map((v) => [v, []]));
    for (const o of outcomes)
      for (const r of o.byValue) {
        const list = byValue.get(r.breakdown) ?? [];
        list.push(r);
        byValue.set(r.breakdown, list);
      }
    const rows = [...byValue.entries()].map(([value, rs]) => ({
      value,
      outcomes: rs,
      only: only.byValue.get(value) ?? 0,
      open: only.openByValue.get(value) ?? 0,
      steps: stepResults(rs, names, only.byValue.get(value) ?? 0, {
        onlyStep0: only.openByValue.get(value) ?? 0,
        openAfter,
      }),
    }));
    // Most conversions at the last step first, then the step before, …; then by value.
    rows.sort((a, b) => {
      for (let k = last; k >= 0; k--) {
        const d = (b.steps[k] as FunnelStepResult).count - (a.steps[k] as FunnelStepResult).count;
        if (d !== 0) return d;
      }
      return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
    });
    const limit = q.breakdown.limit;
    const kept = rows.slice(0, limit).map(({ value, steps }) => ({ value, steps }));
    if (rows.length > limit) {
      const rest = rows.slice(limit);
      kept.push({
        value: 'Other',
        steps: stepResults(
          rest.flatMap((r) => r.outcomes),
          names,
          rest.reduce((a, r) => a + r.only, 0),
          { onlyStep0: rest.reduce((a, r) => a + r.open, 0), openAfter },
        ),
      });
    }
    result.breakdown = kept;
  }
  return result;
}
