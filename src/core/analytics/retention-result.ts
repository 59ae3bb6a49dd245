/**
 * The answer of a retention query, from the rows of `retention-sql.ts`. (No imports beyond
 * types of its own: the dashboard imports these types.)
 */

/** What of the query the result needs (RetentionQuery has it). */
interface QueryShape {
  period: 'hour' | 'day' | 'week' | 'month';
  retentionType: 'recurring' | 'first_time';
  count: number;
  activation?: { withinDays: number } | undefined;
}

export interface RetentionRow {
  /** "Day 0", "Week 3", … (row i is interval i of the range). */
  label: string;
  /** Start of the cohort's interval (ISO, UTC; the interval is the query time zone's). */
  date: string;
  /** `values[0]`: the cohort size; `values[k]`: of them, those returning in interval i + k (0 past the range). */
  values: number[];
  /** `values[k] / values[0]`, or null for an empty cohort. */
  percentages: (number | null)[];
}

export interface RetentionResult {
  period: QueryShape['period'];
  retentionType: QueryShape['retentionType'];
  labels: string[];
  rows: RetentionRow[];
  /** Per interval from the second: of the actors active in the one before, those not active in it. */
  churn: { date: string; previousActive: number; retained: number; churned: number; rate: number | null }[];
  activation?: {
    withinDays: number;
    signedUp: number;
    activated: number;
    rate: number | null;
    medianTimeToActivateS: number | null;
  };
}

type Row = unknown[];
const n = (v: unknown) => Number(v ?? 0);

export function retentionResult(
  q: QueryShape,
  bounds: readonly number[],
  rows: { cells: Row[]; churn: Row[]; activation: Row[] | null },
): RetentionResult {
  const word = q.period[0]?.toUpperCase() + q.period.slice(1);
  const labels = Array.from({ length: q.count }, (_, i) => `${word} ${i}`);
  const values = labels.map(() => new Array<number>(q.count).fill(0));
  for (const r of rows.cells) {
    const i = n(r[0]);
    const k = n(r[1]);
    const row = values[i];
    if (row && k < q.count) row[k] = n(r[2]);
  }
  const iso = (i: number) => new Date(bounds[i] as number).toISOString();
  const active = new Map(rows.churn.map((r) => [n(r[0]), { active: n(r[1]), next: n(r[2]) }]));
  const churn = labels.slice(1).map((_, j) => {
    const prev = active.get(j) ?? { active: 0, next: 0 };
    return {
      date: iso(j + 1),
      previousActive: prev.active,
      retained: prev.next,
      churned: prev.active - prev.next,
      rate: prev.active ? (prev.active - prev.next) / prev.active : null,
    };
  });
  const a = rows.activation?.[0];
  return {
    period: q.period,
    retentionType: q.retentionType,
    labels,
    rows: values.map((v, i) => ({
      label: labels[i] as string,
      date: iso(i),
      values: v,
      percentages: v.map((x) => (v[0] ? x / (v[0] as number) : null)),
    })),
    churn,
    ...(q.activation && a
      ? {
          activation: {
            withinDays: q.activation.withinDays,
            signedUp: n(a[0]),
            activated: n(a[1]),
            rate: n(a[0]) ? n(a[1]) / n(a[0]) : null,
            medianTimeToActivateS: a[2] === null || a[2] === undefined ? null : n(a[2]) / 1000,
          },
        }
      : {}),
  };
}
