import { zonedToUtc, zoneOffsetMs } from './analytics-query.js';

/**
 * Retention's intervals: hours, days, weeks or months as the calendar of a time zone has them
 * (a day across a DST change is 23 or 25 hours), as instants. Weeks start on Sunday, as the
 * peer's do by default, or on Monday.
 */

export const PERIODS = ['hour', 'day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];
export type WeekStart = 'sunday' | 'monday';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The start of the interval holding `ms`. */
export function intervalStart(ms: number, period: Period, tz: string, weekStart: WeekStart): number {
  if (period === 'hour') return Math.floor(ms / HOUR) * HOUR;
  const wall = ms + zoneOffsetMs(tz, ms);
  const d = new Date(Math.floor(wall / DAY) * DAY);
  if (period === 'week') {
    const back = (d.getUTCDay() - (weekStart === 'monday' ? 1 : 0) + 7) % 7;
    d.setUTCDate(d.getUTCDate() - back);
  } else if (period === 'month') d.setUTCDate(1);
  return zonedToUtc(d.getTime(), tz);
}

/** The start of the interval `k` intervals after the one starting at `start`. */
export function addIntervals(start: number, k: number, period: Period, tz: string): number {
  if (period === 'hour') return start + k * HOUR;
  const d = new Date(start + zoneOffsetMs(tz, start));
  if (period === 'day') d.setUTCDate(d.getUTCDate() + k);
  else if (period === 'week') d.setUTCDate(d.getUTCDate() + 7 * k);
  else d.setUTCMonth(d.getUTCMonth() + k);
  return zonedToUtc(d.getTime(), tz);
}

/** `n` consecutive intervals from the one starting at `first`: n + 1 boundaries. */
export function boundaries(first: number, n: number, period: Period, tz: string): number[] {
  return Array.from({ length: n + 1 }, (_, k) => addIntervals(first, k, period, tz));
}
