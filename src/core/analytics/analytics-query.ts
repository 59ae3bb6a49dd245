import { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import { parseTimestamp } from '../spec/timestamp.js';
import { AGGREGATES } from './actor-events.js';

/**
 * What analytics queries share: how a request body is validated (each problem named by its
 * path, `steps[2].where.field`), the time range (ISO timestamps or dates; a date or a time
 * without a zone is read in the query's time zone) and the aggregation.
 */

export interface QueryProblem {
  message: string;
  /** Where: `steps[2].where.field`, or '' for the body itself. */
  field: string;
}

/** `a.b[2].c` from a zod issue path. */
export function pathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

/** Parses with a zod schema; the first problem, with its path, when it does not hold. */
export function parseQuery<T extends z.ZodType>(schema: T, body: unknown): Result<z.output<T>, QueryProblem> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return ok(parsed.data);
  const issue = parsed.error.issues[0];
  const field = pathOf(issue?.path ?? []);
  return err({ message: `${field || '(body)'}: ${issue?.message ?? 'invalid query'}`, field });
}

export const timezoneSchema = z
  .string()
  .default('UTC')
  .refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { error: (i) => `unknown time zone ${JSON.stringify(i.input)} (an IANA name such as "Europe/Berlin")` },
  );

export const commonQueryFields = {
  from: z.string().optional(),
  to: z.string().optional(),
  timezone: timezoneSchema,
  aggregateBy: z.enum(AGGREGATES).default('person'),
  includeBots: z.boolean().default(false),
};

const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/i;

/** How far `tz` is ahead of UTC at the instant `ms`, in ms. */
export function zoneOffsetMs(tz: string, ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return local - Math.floor(ms / 1000) * 1000;
}

/** A wall-clock time in `tz` (given as if it were UTC) as an instant. */
export function zonedToUtc(wallMs: number, tz: string): number {
  // Two passes settle the offset across a DST change.
  const first = wallMs - zoneOffsetMs(tz, wallMs);
  return wallMs - zoneOffsetMs(tz, first);
}

/** An instant from an API time: zoned ISO as is; a date or zone-less time in `tz`. */
export function instantOf(raw: string, tz: string): Result<number, string> {
  const text = raw.trim();
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text);
  const t = parseTimestamp(dateOnly ? `${text}T00:00:00Z` : ZONED.test(text) ? text : `${text}Z`);
  if (!t.ok) return err(t.error);
  return ok(dateOnly || !ZONED.test(text) ? zonedToUtc(t.value, tz) : t.value);
}

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

/**
 * The range of a query: `to` defaults to now, `from` to `defaultDays` before `to`. A `to` given
 * as a date includes that whole day (as the peers read a date range).
 */
export function rangeOf(
  q: { from?: string | undefined; to?: string | undefined; timezone: string },
  nowMs: number,
  defaultDays = 30,
): Result<TimeRange, QueryProblem> {
  let toMs = nowMs;
  if (q.to !== undefined) {
    const t = instantOf(q.to, q.timezone);
    if (!t.ok) return err({ message: `to: ${t.error}`, field: 'to' });
    const whole = /^\d{4}-\d{2}-\d{2}$/.test(q.to.trim()) ? instantOf(nextDay(q.to.trim()), q.timezone) : t;
    toMs = whole.ok ? whole.value : t.value;
  }
  let fromMs = toMs - defaultDays * 86_400_000;
  if (q.from !== undefined) {
    const f = instantOf(q.from, q.timezone);
    if (!f.ok) return err({ message: `from: ${f.error}`, field: 'from' });
    fromMs = f.value;
  }
  if (fromMs >= toMs) return err({ message: 'from: must be before to', field: 'from' });
  return ok({ fromMs, toMs });
}

function nextDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
