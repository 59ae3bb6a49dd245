/**
 * Sessions: a person's events cut into visits. Two boundary styles (peer-semantics §e):
 *
 * - `ga4`: a gap longer than the inactivity timeout, or a session past its maximum length;
 *   no split at midnight or on a campaign change;
 * - `ua`: the same, plus midnight in the workspace's time zone, plus a change of campaign
 *   (a direct hit, without campaign, does not change it: it inherits the session's).
 */

export type SessionStyle = 'ga4' | 'ua';

export interface SessionOptions {
  style: SessionStyle;
  /** Inactivity that ends a session (default 30 min). */
  timeoutMs: number;
  /** A session never lasts longer than this (default 24 h). */
  maxLengthMs: number;
  /** IANA time zone for midnight splits (`ua`); default UTC. */
  timeZone: string;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  style: 'ga4',
  timeoutMs: 30 * 60_000,
  maxLengthMs: 24 * 3_600_000,
  timeZone: 'UTC',
};

export interface SessionInput {
  /** Event time, epoch ms; the events are given in (time, seq) order. */
  timestamp: number;
  /** The campaign this event arrived with (source/medium/campaign…), or null for a direct hit. */
  campaignKey: string | null;
  /** A page or screen view (counts towards engagement). */
  isView: boolean;
  /** A conversion (an engaged session). */
  isConversion: boolean;
}

export interface Session {
  /** Index of the first and last event of the session in the input. */
  first: number;
  last: number;
  start: number;
  end: number;
  durationMs: number;
  eventCount: number;
  /** The campaign the session entered with (UA: the one that started it). */
  entryCampaignKey: string | null;
  /**
   * GA4's engagement, inverted: a bounce is a session under 10 s with fewer than two views
   * and no conversion.
   */
  bounce: boolean;
}

const ENGAGED_MS = 10_000;

/** Cuts one person's ordered events into sessions. */
export function sessionize(
  events: SessionInput[],
  options: SessionOptions = DEFAULT_SESSION_OPTIONS,
): Session[] {
  const sessions: Session[] = [];
  const dayOf = options.style === 'ua' ? localDay(options.timeZone) : null;
  type Open = { first: number; start: number; campaign: string | null; day: string | null };
  let open: Open | null = null;
  let views = 0;
  let converted = false;

  const close = (last: number) => {
    if (!open) return;
    const end = (events[last] as SessionInput).timestamp;
    const durationMs = end - open.start;
    sessions.push({
      first: open.first,
      last,
      start: open.start,
      end,
      durationMs,
      eventCount: last - open.first + 1,
      entryCampaignKey: open.campaign,
      bounce: durationMs < ENGAGED_MS && views < 2 && !converted,
    });
  };

  for (let i = 0; i < events.length; i++) {
    const e = events[i] as SessionInput;
    const day = dayOf ? dayOf(e.timestamp) : null;
    if (open) {
      const prev = (events[i - 1] as SessionInput).timestamp;
      const split =
        e.timestamp - prev > options.timeoutMs ||
        e.timestamp - open.start >= options.maxLengthMs ||
        (options.style === 'ua' &&
          (day !== open.day || (e.campaignKey !== null && e.campaignKey !== open.campaign)));
      if (!split) {
        if (e.isView) views++;
        if (e.isConversion) converted = true;
        continue;
      }
      close(i - 1);
    }
    // UA: a direct hit that starts a session keeps the campaign of the session before it.
    const previous: string | null = open === null ? null : open.campaign;
    const inherited: string | null =
      options.style === 'ua' && e.campaignKey === null ? previous : e.campaignKey;
    open = { first: i, start: e.timestamp, campaign: inherited, day };
    views = e.isView ? 1 : 0;
    converted = e.isConversion;
  }
  if (events.length > 0) close(events.length - 1);
  return sessions;
}

/** The calendar day of an instant in a time zone, for midnight splits. */
function localDay(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  });
  return (ms) => format.format(ms);
}
