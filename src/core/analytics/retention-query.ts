import { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import { eventMatcherSchema } from './analytics-condition.js';
import { instantOf, parseQuery, type QueryProblem, timezoneSchema } from './analytics-query.js';
import { addIntervals, intervalStart, PERIODS } from './retention-intervals.js';

/**
 * A retention query (`POST /api/analytics/retention`), validated, with its cohort intervals
 * resolved (PostHog's semantics, peer-semantics.md §(c)): `to` (default now) is rounded down to
 * the start of its interval, which is the last cohort; without `from` there are `intervals`
 * cohorts (default 11), with it one per interval from `from`'s to `to`'s. Each row has as many
 * values as there are cohorts.
 */

export const MAX_INTERVALS = 400;

const schema = z
  .object({
    period: z.enum(PERIODS).default('day'),
    intervals: z.number().int('a whole number').min(1).max(MAX_INTERVALS).default(11),
    targetEvent: eventMatcherSchema.default({}),
    returningEvent: eventMatcherSchema.default({}),
    retentionType: z.enum(['recurring', 'first_time']).default('recurring'),
    from: z.string().optional(),
    to: z.string().optional(),
    timezone: timezoneSchema,
    weekStart: z.enum(['sunday', 'monday']).default('sunday'),
    aggregateBy: z.enum(['person', 'account']).default('person'),
    includeBots: z.boolean().default(false),
    activation: z
      .object({
        signupEvent: eventMatcherSchema,
        activationEvent: eventMatcherSchema,
        withinDays: z.number().positive('more than 0').max(3650),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RetentionQuery = z.output<typeof schema> & {
  /** Start of the first cohort's interval (epoch ms). */
  firstMs: number;
  /** How many cohorts (rows) and values per row. */
  count: number;
};

export function parseRetentionQuery(body: unknown, nowMs: number): Result<RetentionQuery, QueryProblem> {
  const parsed = parseQuery(schema, body);
  if (!parsed.ok) return parsed;
  const q = parsed.value;
  let toMs = nowMs;
  if (q.to !== undefined) {
    const t = instantOf(q.to, q.timezone);
    if (!t.ok) return err({ message: `to: ${t.error}`, field: 'to' });
    toMs = t.value;
  }
  const last = intervalStart(toMs, q.period, q.timezone, q.weekStart);
  let firstMs = addIntervals(last, -(q.intervals - 1), q.period, q.timezone);
  let count = q.intervals;
  if (q.from !== undefined) {
    const f = instantOf(q.from, q.timezone);
    if (!f.ok) return err({ message: `from: ${f.error}`, field: 'from' });
    firstMs = intervalStart(f.value, q.period, q.timezone, q.weekStart);
    if (firstMs > last) return err({ message: 'from: must not be after to', field: 'from' });
    count = 1;
    while (addIntervals(firstMs, count, q.period, q.timezone) <= last) {
      count++;
      if (count > MAX_INTERVALS)
        return err({ message: `from: at most ${MAX_INTERVALS} ${q.period}s before to`, field: 'from' });
    }
  }
  return ok({ ...q, firstMs, count });
}
