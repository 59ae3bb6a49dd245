import { z } from 'zod';
import type { Condition } from '../journey/conditions.js';
import { err, ok, type Result } from '../result.js';
import { analyticsCondition } from './analytics-condition.js';
import { instantOf, parseQuery, type QueryProblem, timezoneSchema } from './analytics-query.js';

/**
 * A stage analytics query (`POST /api/analytics/stages`), validated: whose stage histories
 * (persons or accounts), the range of `entered_at` the counted entries fall in (open when not
 * given: all of history), bots, and a condition on the subjects' current traits.
 */

const schema = z
  .object({
    subject: z.enum(['person', 'account']).default('person'),
    from: z.string().optional(),
    to: z.string().optional(),
    timezone: timezoneSchema,
    includeBots: z.boolean().default(false),
    where: analyticsCondition.optional(),
  })
  .strict();

export type StagesQuery = z.output<typeof schema> & { fromMs: number | null; toMs: number | null };

export function parseStagesQuery(body: unknown): Result<StagesQuery, QueryProblem> {
  const parsed = parseQuery(schema, body);
  if (!parsed.ok) return parsed;
  const q = parsed.value;
  const bad = traitProblem(q.where, 'where');
  if (bad) return err(bad);
  let fromMs: number | null = null;
  let toMs: number | null = null;
  if (q.from !== undefined) {
    const f = instantOf(q.from, q.timezone);
    if (!f.ok) return err({ message: `from: ${f.error}`, field: 'from' });
    fromMs = f.value;
  }
  if (q.to !== undefined) {
    const t = instantOf(q.to, q.timezone);
    if (!t.ok) return err({ message: `to: ${t.error}`, field: 'to' });
    toMs = t.value;
    // A date as `to` includes that whole day (in the query's time zone).
    if (/^\d{4}-\d{2}-\d{2}$/.test(q.to.trim())) {
      const next = new Date(`${q.to.trim()}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      const n = instantOf(next.toISOString().slice(0, 10), q.timezone);
      if (n.ok) toMs = n.value;
    }
  }
  if (fromMs !== null && toMs !== null && fromMs >= toMs)
    return err({ message: 'from: must be before to', field: 'from' });
  return ok({ ...q, fromMs, toMs });
}

/** Stage analytics filter subjects by their traits only (what a subject is, not what it did). */
function traitProblem(c: Condition | undefined, at: string): QueryProblem | null {
  if (c === undefined || 'else' in c) return null;
  const walk = (x: Condition, path: string): QueryProblem | null => {
    if ('else' in x) return null;
    if ('all' in x) return first(x.all.map((y, i) => walk(y, `${path}.all[${i}]`)));
    if ('any' in x) return first(x.any.map((y, i) => walk(y, `${path}.any[${i}]`)));
    if ('not' in x) return walk(x.not, `${path}.not`);
    return /^traits\.[^.]+$/.test(x.field)
      ? null
      : {
          message: `${path}.field: stage analytics filter on traits only: traits.<name> (got ${JSON.stringify(x.field)})`,
          field: `${path}.field`,
        };
  };
  return walk(c, at);
}

const first = (xs: (QueryProblem | null)[]): QueryProblem | null => xs.find((x) => x !== null) ?? null;
