/**
 * The answer of a stage analytics query, put together from the rows of `stages-sql.ts`. Durations
 * are seconds; medians and 75th percentiles interpolate (`quantile_cont`: the median of 1 and 3
 * days is 2 days). Transitions are flagged by the order of the workspace's stage model:
 * `forward` (to the next stage), `skip` (further down, past stages between), `regression` (back
 * up), `repeat` (the same stage again), `entry` (the first stage a subject entered).
 */

/** `stages.ts` NO_STAGE: before the first stage. Kept here so the dashboard can import these types alone. */
const NO_STAGE = '(none)';

/** Lower bounds (seconds) of the duration histogram's bins: fixed, so stages compare. */
export const DURATION_BINS_S = [
  0,
  3_600,
  86_400,
  3 * 86_400,
  7 * 86_400,
  14 * 86_400,
  30 * 86_400,
  60 * 86_400,
  90 * 86_400,
  180 * 86_400,
  365 * 86_400,
] as const;

export type TransitionKind = 'entry' | 'forward' | 'skip' | 'regression' | 'repeat';

export interface Durations {
  count: number;
  medianS: number | null;
  p75S: number | null;
  meanS: number | null;
  /** [lower bound in seconds, count]; each bin runs to the next one's lower bound. */
  bins: [number, number][];
}

export interface StagesResult {
  subject: 'person' | 'account';
  /** The workspace's stage model, in order (then any stage the history names that it lacks). */
  model: { id: string; name: string; index: number }[];
  transitions: { from: string; to: string; count: number; subjects: number; kind: TransitionKind }[];
  stages: {
    id: string;
    name: string;
    /** Subjects with an entry of this stage in range. */
    entered: number;
    entries: number;
    /** Of those, the ones that went on to a stage further down the model afterwards. */
    advanced: number;
    /** `entered − advanced`: never reached a later stage. */
    dropped: number;
    dropOffRate: number | null;
    /** Of those, the ones still in it (their journey ended there, for now). */
    current: number;
    /** From entering the stage to entering the next one (spans that have ended). */
    timeInStage: Durations;
  }[];
  /** For each pair: of the subjects that entered `from` (in range), those that later entered `to`, and how long it took. */
  conversions: {
    from: string;
    to: string;
    entered: number;
    converted: number;
    rate: number | null;
    time: Durations;
  }[];
  /** By month of entering the first stage: how many reached each later stage and the median days it took. */
  velocity: {
    cohort: string;
    subjects: number;
    stages: { stage: string; reached: number; medianDays: number | null; p75Days: number | null }[];
  }[];
}

export type Row = unknown[];
const n = (v: unknown): number => Number(v ?? 0);
const orNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const s = (ms: unknown): number | null => {
  const v = orNull(ms);
  return v === null ? null : v / 1000;
};

function durations(count: unknown, median: unknown, p75: unknown, mean: unknown, bins: unknown): Durations {
  const counts = (bins as unknown[] | null) ?? [];
  return {
    count: n(count),
    medianS: n(count) ? s(median) : null,
    p75S: n(count) ? s(p75) : null,
    meanS: n(count) ? s(mean) : null,
    bins: DURATION_BINS_S.map((lo, i) => [lo, n(counts[i])]),
  };
}

export function stagesResult(
  subject: 'person' | 'account',
  modelStages: readonly { id: string; name: string }[],
  rows: { transitions: Row[]; stages: Row[]; pairs: Row[]; cohorts: Row[]; reach: Row[] },
): StagesResult {
  const model = modelStages.map((x, index) => ({ id: x.id, name: x.name, index }));
  const indexOf = new Map(model.map((m) => [m.id, m.index]));
  // Stages the history names but the model lacks (the model changed since): listed last.
  for (const id of [...rows.stages.map((r) => String(r[0])), ...rows.transitions.map((r) => String(r[1]))])
    if (!indexOf.has(id)) {
      indexOf.set(id, model.length);
      model.push({ id, name: id, index: model.length });
    }
  const kindOf = (from: string, to: string): TransitionKind => {
    if (from === NO_STAGE) return 'entry';
    if (from === to) return 'repeat';
    const a = indexOf.get(from) ?? 0;
    const b = indexOf.get(to) ?? 0;
    return b < a ? 'regression' : b === a + 1 ? 'forward' : 'skip';
  };
  const transitions = rows.transitions
    .map((r) => ({
      from: String(r[0]),
      to: String(r[1]),
      count: n(r[2]),
      subjects: n(r[3]),
      kind: kindOf(String(r[0]), String(r[1])),
    }))
    .sort(
      (x, y) =>
        (x.from === NO_STAGE ? -1 : (indexOf.get(x.from) ?? 0)) -
          (y.from === NO_STAGE ? -1 : (indexOf.get(y.from) ?? 0)) ||
        (indexOf.get(x.to) ?? 0) - (indexOf.get(y.to) ?? 0),
    );
  const byStage = new Map(rows.stages.map((r) => [String(r[0]), r]));
  const stages = model.map((m) => {
    const r = byStage.get(m.id) ?? [];
    const entered = n(r[1]);
    const advanced = n(r[3]);
    return {
      id: m.id,
      name: m.name,
      entered,
      entries: n(r[2]),
      advanced,
      dropped: entered - advanced,
      dropOffRate: entered ? (entered - advanced) / entered : null,
      current: n(r[4]),
      timeInStage: durations(r[5], r[6], r[7], r[8], r[9]),
    };
  });
  const enteredOf = new Map(stages.map((x) => [x.id, x.entered]));
  const convertedOf = new Map(rows.pairs.map((r) => [`${r[0]}\u0000${r[1]}`, r]));
  const conversions = model.flatMap((a) =>
    (enteredOf.get(a.id) ?? 0) === 0
      ? []
      : model
          .filter((b) => b.id !== a.id)
          .map((b) => {
            const r = convertedOf.get(`${a.id}\u0000${b.id}`) ?? [];
            const entered = enteredOf.get(a.id) ?? 0;
            const converted = n(r[2]);
            return {
              from: a.id,
              to: b.id,
              entered,
              converted,
              rate: entered ? converted / entered : null,
              time: durations(r[2], r[3], r[4], r[5], r[6]),
            };
          }),
  );
  const velocity = rows.cohorts.map((c) => {
    const cohort = String(c[0]);
    return {
      cohort,
      subjects: n(c[1]),
      stages: rows.reach
        .filter((r) => String(r[0]) === cohort)
        .map((r) => ({
          stage: String(r[1]),
          reached: n(r[2]),
          medianDays: orNull(r[3]) === null ? null : n(r[3]) / 86_400_000,
          p75Days: orNull(r[4]) === null ? null : n(r[4]) / 86_400_000,
        }))
        .sort((x, y) => (indexOf.get(x.stage) ?? 0) - (indexOf.get(y.stage) ?? 0)),
    };
  });
  return { subject, model, transitions, stages, conversions, velocity };
}
