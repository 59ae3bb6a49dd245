/**
 * One actor's pass through a funnel: PostHog's funnel algorithm (its `funnel-udf` steps.rs and
 * unordered_steps.rs; semantics in ../shared/reference/peer-semantics.md §(a)), over the actor's
 * candidate events in time order. SQL picks the candidates and the steps each can fill; this fold
 * is the sequence logic SQL cannot say simply.
 *
 * Steps are numbered from 1 here, as in the peer (the API numbers them from 0). An event's
 * `steps` lists the steps it matches (1..n) and, negated, the exclusions it triggers: -k marks
 * an attempt that reached step k-1 (so an exclusion from step f to step t, 0-based, is
 * -(f+2) … -(t+1)).
 */

export type FunnelOrder = 'ordered' | 'strict' | 'unordered';

export interface FoldEvent {
  /** Event time, epoch ms. */
  ms: number;
  /** A stable id (the event's seq): one event never fills two steps of one attempt. */
  id: number;
  /** Matched steps ascending, then exclusions (negative), as the peer lists them. */
  steps: readonly number[];
  /** The breakdown value the event carries ('' when none). */
  breakdown: string;
}

export interface FoldArgs {
  steps: number;
  windowMs: number;
  order: FunnelOrder;
  /** `step` attribution: the 0-based step whose event must carry the row's value. */
  attributionStep?: number;
  /** `all_events` attribution: only the events carrying the row's value count. */
  allEvents?: boolean;
}

export interface FoldResult {
  /** The furthest step reached, 0-based; -1: none (or the reported attempt was excluded). */
  reached: number;
  breakdown: string;
  /** Event time of each step on the reported path (ms), steps 0..reached. */
  times: number[];
}

interface Attempt {
  /** The attempt's step-1 time (NaN: not entered). */
  start: number;
  excluded: boolean;
  times: number[];
  ids: number[];
}

const EMPTY: Attempt = { start: Number.NaN, excluded: false, times: [], ids: [] };
const entered = (a: Attempt) => !Number.isNaN(a.start);

/** The funnel result of one actor for one breakdown value. */
export function foldFunnel(events: readonly FoldEvent[], args: FoldArgs, value: string): FoldResult {
  const own = args.allEvents ? events.filter((e) => e.breakdown === value) : events;
  return args.order === 'unordered' ? unordered(own, args, value) : ordered(own, args, value);
}

function ordered(events: readonly FoldEvent[], args: FoldArgs, value: string): FoldResult {
  const n = args.steps;
  const at: Attempt[] = Array.from({ length: n + 1 }, () => EMPTY);
  let max: { step: number; attempt: Attempt } = { step: 0, attempt: EMPTY };
  const breakdownStep = args.attributionStep;

  const process = (e: FoldEvent, multiple: boolean) => {
    for (let i = e.steps.length - 1; i >= 0; i--) {
      const raw = e.steps[i] as number;
      const exclusion = raw < 0;
      const step = Math.abs(raw);
      const prevIndex = step - 1;
      const prev = at[prevIndex] as Attempt;
      const inWindow = entered(prev) && e.ms - prev.start <= args.windowMs;
      const here = at[step] as Attempt;
      const alreadyReached = entered(here) && here.start === prev.start;
      if (!inWindow || alreadyReached) continue;
      if (exclusion) {
        if (prev.excluded) continue;
        at[prevIndex] = { ...prev, excluded: true };
        if (max.step === prevIndex && e.ms - max.attempt.start <= args.windowMs)
          max = { step: max.step, attempt: { ...max.attempt, excluded: true } };
        continue;
      }
      const unmatchedAttribution =
        breakdownStep !== undefined && prevIndex === breakdownStep && value !== e.breakdown;
      const usedEvent = multiple && prev.ids.includes(e.id);
      if (unmatchedAttribution || usedEvent) continue;
      const next: Attempt = {
        start: prev.start,
        excluded: prev.excluded,
        times: [...prev.times, e.ms],
        ids: [...prev.ids, e.id],
      };
      if (!prev.excluded) at[step] = next;
      if (step > max.step || (step === max.step && max.attempt.excluded)) max = { step, attempt: next };
    }
    // Strict: any event that does not match a step breaks every chain it does not continue.
    if (!multiple && args.order === 'strict')
      for (let s = 1; s <= n; s++) if (!e.steps.includes(s)) at[s] = EMPTY;
  };

  let i = 0;
  while (i < events.length) {
    const ms = (events[i] as FoldEvent).ms;
    let j = i;
    while (j < events.length && (events[j] as FoldEvent).ms === ms) j++;
    const group = events.slice(i, j);
    i = j;
    at[0] = { start: ms, excluded: false, times: [], ids: [] };
    const first = group[0] as FoldEvent;
    if (group.length === 1) process(first, false);
    else if (group.every((e) => sameSteps(e.steps, first.steps))) for (const e of group) process(e, false);
    else {
      // Different events at one instant convert in step order; exclusions and strict resets are
      // ignored among them (as the peer does).
      const split = group
        .flatMap((e) => e.steps.filter((s) => s > 0).map((s) => ({ ...e, steps: [s] })))
        .sort((a, b) => (a.steps[0] as number) - (b.steps[0] as number));
      for (const e of split) process(e, true);
    }
    // The first completed conversion is the one reported.
    if (entered(at[n] as Attempt)) break;
  }
  if (max.attempt.excluded || max.step === 0) return { reached: -1, breakdown: value, times: [] };
  return { reached: max.step - 1, breakdown: value, times: max.attempt.times };
}

function unordered(events: readonly FoldEvent[], args: FoldArgs, value: string): FoldResult {
  const n = args.steps;
  const queues: FoldEvent[][] = Array.from({ length: n }, () => []);
  let completed = 0;
  let max: { step: number; times: number[] } = { step: 0, times: [] };
  const breakdownStep = args.attributionStep;

  const updateMax = () => {
    if (completed <= max.step) return;
    const times = queues
      .filter((q) => q.length > 0)
      .map((q) => (q[0] as FoldEvent).ms)
      .sort((a, b) => a - b);
    max = { step: completed, times };
  };

  const process = (e: FoldEvent) => {
    // Drop the oldest events until the newest is within the window of the oldest kept.
    for (;;) {
      let oldest = -1;
      for (let s = 0; s < n; s++) {
        const q = queues[s] as FoldEvent[];
        if (
          q.length > 0 &&
          (oldest < 0 || (q[0] as FoldEvent).ms < ((queues[oldest] as FoldEvent[])[0] as FoldEvent).ms)
        )
          oldest = s;
      }
      if (oldest < 0) break;
      const q = queues[oldest] as FoldEvent[];
      if (completed < n && (q[0] as FoldEvent).ms + args.windowMs >= e.ms) break;
      updateMax();
      q.shift();
      if (q.length === 0) completed--;
    }
    const positive = e.steps.filter((s) => s > 0);
    // An exclusion clears all partial progress (but does not drop the actor).
    if (positive.length === 0) {
      for (const q of queues) q.length = 0;
      completed = 0;
      return;
    }
    // The step used least recently takes the event.
    let step = positive[0] as number;
    let stepLast = lastMs(queues[step - 1] as FoldEvent[]);
    for (const s of positive) {
      const last = lastMs(queues[s - 1] as FoldEvent[]);
      if (last < stepLast) {
        step = s;
        stepLast = last;
      }
    }
    if (breakdownStep !== undefined && completed === breakdownStep && value !== e.breakdown) return;
    const q = queues[step - 1] as FoldEvent[];
    if (q.length === 0) completed++;
    q.push(e);
  };

  for (const [i, e] of events.entries()) {
    process(e);
    if (max.step === n) break;
    if (i === events.length - 1) updateMax();
  }
  return { reached: max.step - 1, breakdown: value, times: max.times };
}

const lastMs = (q: readonly FoldEvent[]) => (q.length > 0 ? (q[q.length - 1] as FoldEvent).ms : 0);

function sameSteps(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
