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
  const cutter = new SessionCutter(options);
  for (const e of events) cutter.push(e);
  return cutter.sessions;
}

/**
 * The sessionizer, one event at a time (events in time order): the last session stays open and
 * is updated in place, so a live journey extends in O(1) per event.
 */
export class SessionCutter {
  readonly sessions: Session[] = [];
  private readonly dayOf: ((ms: number) => string) | null;
  private count = 0;
  private lastAt = 0;
  private day: string | null = null;
  private views = 0;
  private converted = false;

  constructor(private readonly options: SessionOptions = DEFAULT_SESSION_OPTIONS) {
    this.dayOf = options.style === 'ua' ? localDay(options.timeZone) : null;
  }

  /** Adds the next event; returns the index of the session it belongs to. */
  push(e: SessionInput): number {
    const i = this.count++;
    const day = this.dayOf ? this.dayOf(e.timestamp) : null;
    const open = this.sessions[this.sessions.length - 1];
    const o = this.options;
    const split =
      !open ||
      e.timestamp - this.lastAt > o.timeoutMs ||
      e.timestamp - open.start >= o.maxLengthMs ||
      (o.style === 'ua' &&
        (day !== this.day || (e.campaignKey !== null && e.campaignKey !== open.entryCampaignKey)));
    this.lastAt = e.timestamp;
    if (open && !split) {
      if (e.isView) this.views++;
      if (e.isConversion) this.converted = true;
      open.last = i;
      open.end = e.timestamp;
      open.durationMs = open.end - open.start;
      open.eventCount++;
      open.bounce = this.bounced(open.durationMs);
      return this.sessions.length - 1;
    }
    // UA: a direct hit that starts a session keeps the campaign of the session before it.
    const inherited =
      o.style === 'ua' && e.campaignKey === null ? (open?.entryCampaignKey ?? null) : e.campaignKey;
    this.day = day;
    this.views = e.isView ? 1 : 0;
    this.converted = e.isConversion;
    this.sessions.push({
      first: i,
      last: i,
      start: e.timestamp,
      end: e.timestamp,
      durationMs: 0,
      eventCount: 1,
      entryCampaignKey: inherited,
      bounce: this.bounced(0),
    });
    return this.sessions.length - 1;
  }

  private bounced(durationMs: number): boolean {
    return durationMs < ENGAGED_MS && this.views < 2 && !this.converted;
  }
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
