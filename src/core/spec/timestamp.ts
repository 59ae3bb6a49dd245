import { err, ok, type Result } from '../result.js';

// ISO 8601 date-time as SDKs and exports send it: date, optional time (T or space) with optional
// fraction and zone; a space before a numeric zone is allowed (`2024-05-01 12:30:15 +0000`).
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z| ?[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parses an ISO-8601 timestamp to epoch milliseconds: the one parser for time strings (SDK
 * messages, API query parameters, CLI flags, source imports). A date or a time without a zone is
 * read as UTC (Date.parse would use the server's local zone, making results depend on where we
 * run). `24:00` is the end of its day; impossible dates (Feb 31) are rejected, not rolled over.
 */
export function parseTimestamp(input: string): Result<number, string> {
  const fast = canonicalUtc(input);
  if (fast !== null) return ok(fast);
  const m = ISO_8601.exec(input.trim());
  if (!m) return err(`"${truncate(input)}" is not an ISO-8601 date-time`);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  const endOfDay = h === '24' && mi === '00' && s === '00' && /^0*$/.test(frac);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 31 ||
    (Number(h) > 23 && !endOfDay) ||
    Number(mi) > 59 ||
    Number(s) > 60
  ) {
    return err(`"${truncate(input)}" is not a valid date-time`);
  }
  const offset = zoneOffsetMinutes(zone.trim().toUpperCase());
  if (offset === null) return err(`"${truncate(input)}" has no valid zone offset (from -23:59 to +23:59)`);
  // Date.UTC reads years 0–99 as 1900–1999: set the year itself.
  const at = new Date(Date.UTC(2000, month - 1, day));
  at.setUTCFullYear(Number(y));
  const date = at.getTime();
  // Date.UTC silently rolls Feb 31 into March; reject instead.
  if (new Date(date).getUTCDate() !== day) return err(`"${truncate(input)}" is not a valid date-time`);
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  const time = ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + Math.floor(ms);
  return ok(date + time - offset * 60_000);
}

/**
 * The form nearly every SDK sends, `2024-05-01T12:30:15.123Z`, read by the engine's own parser
 * (exact for this form) instead of the regex: it is on the path of every message. Null for
 * anything else, and for a day past its month's end (Date.parse rolls Feb 31 into March).
 */
function canonicalUtc(s: string): number | null {
  if (s.length !== 24 || s.charCodeAt(10) !== 84 || s.charCodeAt(23) !== 90 || s.charCodeAt(19) !== 46)
    return null;
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) return null;
  const digit = (i: number) => s.charCodeAt(i) - 48;
  const year = digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3);
  const month = digit(5) * 10 + digit(6);
  const day = digit(8) * 10 + digit(9);
  return day <= daysInMonth(year, month) ? ms : null;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Minutes east of UTC, or null for an offset no zone has (hours past 23, minutes past 59). */
function zoneOffsetMinutes(zone: string): number | null {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}

function truncate(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export const toIso = (ms: number): string => new Date(ms).toISOString();
