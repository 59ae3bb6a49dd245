import { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import { parseQuery, type QueryProblem, rangeOf, timezoneSchema } from './analytics-query.js';
import { KPI_METRICS, type KpiMetric } from './kpi-metrics.js';

/**
 * The query of GET /api/kpis and /api/kpis/<metric>: a range and the few assumptions a metric
 * needs, each with a default that fits the simulator's scenarios (docs/metrics.md). Query-string
 * values arrive as text: lists are comma-separated.
 */

export { KPI_METRICS, type KpiMetric } from './kpi-metrics.js';

export const DEFAULT_SIGNUP_EVENTS = [
  'Signed Up',
  'Trial Started',
  'Account Created',
  'Newsletter Subscribed',
];
export const DEFAULT_ACTIVATION_EVENTS = [
  'Onboarding Completed',
  'Account Activated',
  'Activated',
  'Habit Created',
  'Dashboard Created',
  'Data Source Connected',
  'Order Completed',
];
export const DEFAULT_CHURN_EVENTS = ['Subscription Cancelled'];
export const DEFAULT_CHURN_STAGES = ['churned', 'lapsed'];

const list = (what: string) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .refine((xs) => xs.length > 0 && xs.length <= 50, `a comma-separated list of 1–50 ${what}`)
    .optional();

const number = (min: number, max: number, integer = false) =>
  z
    .string()
    .transform((s) => (s.trim() === '' ? Number.NaN : Number(s)))
    .refine((n) => Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)), {
      error: `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`,
    })
    .optional();

const kpiQuerySchema = z
  .object({
    from: z.string().optional(),
    to: z.string().optional(),
    timezone: timezoneSchema,
    /** The stage that counts as converted (a customer; a won deal for accounts). */
    stage: z.string().min(1).max(200).default('customer'),
    churnStages: list('stage ids'),
    churnEvents: list('event names'),
    signupEvents: list('event names'),
    activationEvents: list('event names'),
    activationDays: number(1, 365, true),
    grossMargin: number(0.01, 1),
    bucket: z.enum(['day', 'week', 'month']).optional(),
  })
  .strict();

export interface KpiQuery {
  fromMs: number;
  toMs: number;
  stage: string;
  churnStages: string[];
  churnEvents: string[];
  signupEvents: string[];
  activationEvents: string[];
  activationDays: number;
  grossMargin: number;
  bucket: 'day' | 'week' | 'month';
}

const DAY = 86_400_000;

/** The query from a query string; a problem names its parameter. Default range: the last 30 days. */
export function parseKpiQuery(raw: unknown, nowMs: number): Result<KpiQuery, QueryProblem> {
  const parsed = parseQuery(kpiQuerySchema, raw);
  if (!parsed.ok) return parsed;
  const q = parsed.value;
  const range = rangeOf(q, nowMs, 30);
  if (!range.ok) return range;
  const days = (range.value.toMs - range.value.fromMs) / DAY;
  if (days > 3660) return err({ message: 'from: a range of at most ten years', field: 'from' });
  const bucket = q.bucket ?? (days <= 31 ? 'day' : days <= 190 ? 'week' : 'month');
  const points = days / { day: 1, week: 7, month: 28 }[bucket];
  if (points > 1500)
    return err({ message: `bucket: ${Math.ceil(points)} ${bucket}s is too many points`, field: 'bucket' });
  return ok({
    ...range.value,
    stage: q.stage,
    churnStages: q.churnStages ?? DEFAULT_CHURN_STAGES,
    churnEvents: q.churnEvents ?? DEFAULT_CHURN_EVENTS,
    signupEvents: q.signupEvents ?? DEFAULT_SIGNUP_EVENTS,
    activationEvents: q.activationEvents ?? DEFAULT_ACTIVATION_EVENTS,
    activationDays: q.activationDays ?? 7,
    grossMargin: q.grossMargin ?? 1,
    bucket,
  });
}

export function isKpiMetric(name: string): name is KpiMetric {
  return (KPI_METRICS as readonly string[]).includes(name);
}
