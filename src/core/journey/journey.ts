import { type BotReason, isBotUserAgent, RateWatch } from './bots.js';
import type { ChannelRules } from './channel-rules.js';
import type { Fields, FieldValue } from './conditions.js';
import { byTime, type JourneyEvent, pathOf, scalarOf, textOf } from './journey-event.js';
import { DEFAULT_SESSION_OPTIONS, SessionCutter, type SessionOptions } from './sessions.js';
import { type CompiledStageModel, StageFold, type StageSpan } from './stages.js';
import {
  campaignKeyOf,
  DEFAULT_TOUCH_OPTIONS,
  type TouchFields,
  type TouchOptions,
  touchFieldAccessor,
  touchFieldsOf,
} from './touch-fields.js';

/**
 * A journey: one person's (or account's) events in time order, annotated with touchpoints and
 * their channels, sessions and lifecycle stages.
 *
 * Touchpoints record what happened, one per contact:
 * - `session`: the first arrival of a session (a page view from a campaign, another site, or
 *   with no referrer at all: Direct);
 * - `campaign`: a later arrival inside a session: another campaign or referrer, or a direct
 *   return (a view without referrer after views that had one);
 * - `event`: an event a channel rule of scope `event` matches (sales call, webinar, ticket…).
 * Only views from outside the site arrive: a view whose referrer is the site itself is browsing
 * on, an app screen without campaign or referrer is product use, and track/identify calls
 * (product events such as "Report Viewed") are activity: they make and extend sessions but are
 * never arrivals. A view repeating the referrer and campaign of the previous view from the same
 * browser is the same visit continuing (single-page apps repeat the landing's referrer).
 *
 * Carrying an earlier campaign forward is a view for attribution, not a fact: each step's
 * `channel` is the channel in effect — the session's last non-direct arrival (a direct return
 * replaces it only with `directOverridesCampaign`) — while the touchpoints stay what happened.
 *
 * `JourneyBuilder` is incremental: events in time order extend it in O(1); an event earlier than
 * the last one replays the journey, so the result never depends on arrival order.
 */

export interface JourneyConfig {
  channels: ChannelRules;
  stages: CompiledStageModel;
  sessions: SessionOptions;
  touch: TouchOptions;
  /** Whether a direct return inside a session replaces the channel in effect (never the facts). */
  directOverridesCampaign: boolean;
  /** Events that make a session engaged (never a bounce). */
  conversions: ReadonlySet<string>;
  /** Keep bot traffic in the journey (flagged) instead of leaving it out. */
  includeBots: boolean;
}

export const DEFAULT_CONVERSIONS = [
  'Signed Up',
  'Lead Created',
  'Demo Requested',
  'Order Completed',
  'Subscription Started',
  'Deal Closed Won',
];

export function journeyConfig(
  channels: ChannelRules,
  stages: CompiledStageModel,
  overrides: Partial<Omit<JourneyConfig, 'channels' | 'stages'>> = {},
): JourneyConfig {
  return {
    channels,
    stages,
    sessions: DEFAULT_SESSION_OPTIONS,
    touch: DEFAULT_TOUCH_OPTIONS,
    directOverridesCampaign: false,
    conversions: new Set(DEFAULT_CONVERSIONS),
    includeBots: false,
    ...overrides,
  };
}

export interface Touchpoint {
  index: number;
  kind: 'session' | 'campaign' | 'event';
  channel: string;
  at: number;
  seq: number;
  messageId: string;
  event: string | null;
  source: string;
  medium: string;
  campaign: string | null;
  content: string | null;
  term: string | null;
  referringDomain: string | null;
  landingPage: string | null;
  clickIds: TouchFields['clickIds'];
  session: number | null;
}

export interface SessionSummary {
  index: number;
  start: number;
  end: number;
  durationMs: number;
  eventCount: number;
  bounce: boolean;
  /** The channel it arrived through and its landing page. */
  channel: string | null;
  landingPage: string | null;
  entryTouchpoint: number | null;
}

export interface JourneyStep {
  seq: number;
  messageId: string;
  at: number;
  type: JourneyEvent['type'];
  event: string | null;
  session: number | null;
  /** The touchpoint this event is, if any. */
  touchpoint: number | null;
  /**
   * The channel in effect (a view for attribution): in a session, its last non-direct arrival
   * (or Direct when it had no other; null before anything arrived); outside sessions, the
   * event's own touchpoint channel.
   */
  channel: string | null;
  /** The stage after this event. */
  stage: string | null;
  bot: BotReason | null;
}

/**
 * What the person said brought them ("how did you hear about us", a promo code): evidence of a
 * contact at some earlier, unknown time, not a contact itself, so not a touchpoint. Each answer
 * once, where it was first given.
 */
export interface ReportedSource {
  at: number;
  messageId: string;
  event: string | null;
  field: 'self_reported' | 'promo_code';
  value: string;
}

export interface Journey {
  steps: JourneyStep[];
  touchpoints: Touchpoint[];
  reported: ReportedSource[];
  sessions: SessionSummary[];
  stages: StageSpan[];
  stage: string | null;
  /** Set when the visitor is a bot (then the journey is empty unless bots are included). */
  bot: BotReason | null;
  /** Bot events left out. */
  botEvents: number;
}

export function buildJourney(events: readonly JourneyEvent[], config: JourneyConfig, asOf?: number): Journey {
  const b = new JourneyBuilder(config);
  for (const e of [...events].sort(byTime)) b.add(e);
  return b.journey(asOf);
}

export class JourneyBuilder {
  private events: JourneyEvent[] = [];
  private readonly seen = new Set<string>();
  private state!: FoldState;

  constructor(private readonly config: JourneyConfig) {
    this.reset();
  }

  get size(): number {
    return this.events.length;
  }

  /** Adds an event (any order; a repeated messageId is ignored). Returns the stage span it opened, if any. */
  add(e: JourneyEvent): StageSpan | null {
    if (this.seen.has(e.messageId)) return null;
    this.seen.add(e.messageId);
    const last = this.events[this.events.length - 1];
    if (!last || byTime(last, e) <= 0) {
      this.events.push(e);
      return this.state.step(e);
    }
    // Late: insert in place and replay; history before it is unchanged, after it may be.
    let i = this.events.length - 1;
    while (i > 0 && byTime(this.events[i - 1] as JourneyEvent, e) > 0) i--;
    this.events.splice(i, 0, e);
    this.reset();
    let opened: StageSpan | null = null;
    for (const x of this.events) {
      const s = this.state.step(x);
      if (x === e) opened = s;
    }
    return opened;
  }

  /** The current stage (for live triggers). */
  get stage(): string | null {
    return this.state.stages.stage;
  }

  journey(asOf?: number): Journey {
    return this.state.result(asOf);
  }

  private reset(): void {
    this.state = new FoldState(this.config);
  }
}

/** The channel plain direct traffic gets in every base rule set ("direct does not overwrite"). */
const DIRECT = 'Direct';

/** What a view says about where it came from, to tell a new arrival from the visit going on. */
interface ViewOrigin {
  /** Referrer: a host, `(internal)` for the site itself, '' for none. */
  referrer: string;
  campaignKey: string | null;
}

class FoldState {
  readonly steps: JourneyStep[] = [];
  readonly touchpoints: Touchpoint[] = [];
  readonly reported: ReportedSource[] = [];
  readonly sessionEntries: (number | null)[] = [];
  readonly landing: (string | null)[] = [];
  readonly cutter: SessionCutter;
  readonly stages: StageFold;
  private readonly rate = new RateWatch();
  private traits: Record<string, FieldValue> = {};
  /** The channel in effect in the current session (null until something arrived). */
  private sessionChannel: string | null = null;
  /** The last view of each browser (user agent) in the current session. */
  private lastView = new Map<string, ViewOrigin>();
  private readonly reportedKeys = new Set<string>();
  bot: BotReason | null = null;
  botEvents = 0;

  constructor(private readonly config: JourneyConfig) {
    this.cutter = new SessionCutter(config.sessions);
    this.stages = new StageFold(config.stages);
  }

  step(e: JourneyEvent): StageSpan | null {
    const name = e.event ?? e.name;
    const ua = textOf(pathOf(e.context, 'userAgent'));
    const isView = e.type === 'page' || e.type === 'screen';
    let botReason: BotReason | null = isBotUserAgent(ua) ? 'user_agent' : null;
    if (isView && this.rate.push(e.timestamp)) {
      this.bot ??= 'event_rate';
      botReason ??= 'event_rate';
    }
    const step: JourneyStep = {
      seq: e.seq,
      messageId: e.messageId,
      at: e.timestamp,
      type: e.type,
      event: name,
      session: null,
      touchpoint: null,
      channel: null,
      stage: this.stages.stage,
      bot: botReason,
    };
    this.steps.push(step);
    if (botReason === 'user_agent') {
      this.botEvents++;
      if (!this.config.includeBots) return null;
    }

    const t = touchFieldsOf(e, this.config.touch);
    const fields = touchFieldAccessor(e, t);
    // Interactive events (views, and calls from a browser or app) make sessions; server-side
    // and offline events stand outside them.
    const interactive = isView || ua !== null || e.context?.page !== undefined;
    let touch: { kind: Touchpoint['kind']; channel: string } | null = null;
    /** Whether the touch is the first arrival of its session (its entry). */
    let entry = false;
    if (interactive) {
      const key = campaignKeyOf(t);
      const before = this.cutter.sessions.length;
      const session = this.cutter.push({
        timestamp: e.timestamp,
        campaignKey: key,
        isView,
        isConversion: name !== null && this.config.conversions.has(name),
      });
      step.session = session;
      if (this.cutter.sessions.length > before) {
        this.sessionEntries.push(null);
        this.landing.push(t.landingUrl);
        this.sessionChannel = null;
        this.lastView.clear();
      }
      entry = this.sessionEntries[session] === null;
      if (isView && this.arrives(e, t, key, ua ?? '')) {
        const match = this.config.channels.classify(fields, true);
        const channel = match?.channel ?? 'Unassigned';
        touch = {
          kind: !entry ? 'campaign' : match?.scope === 'event' ? 'event' : 'session',
          channel,
        };
        // Direct does not overwrite the channel in effect (unless configured): a view, not a fact.
        // A view without referrer the rules place elsewhere (a vanity URL, an invite link) does.
        if (channel !== DIRECT || this.sessionChannel === null || this.config.directOverridesCampaign)
          this.sessionChannel = channel;
        if (entry) this.landing[session] = t.landingUrl;
      }
    }
    if (touch === null) {
      const match = this.config.channels.classify(fields, false);
      if (match) {
        touch = { kind: 'event', channel: match.channel };
        // An event that opens a visit (a push notification opened) is how the visit came about.
        if (entry) this.sessionChannel = match.channel;
      } else entry = false;
    }
    if (touch) {
      step.touchpoint = this.touchpoints.length;
      this.touchpoints.push({
        index: this.touchpoints.length,
        kind: touch.kind,
        channel: touch.channel,
        at: e.timestamp,
        seq: e.seq,
        messageId: e.messageId,
        event: name,
        source: t.source,
        medium: t.medium,
        campaign: t.campaign,
        content: t.content,
        term: t.term,
        referringDomain: t.referringDomain,
        landingPage: t.landingUrl,
        clickIds: t.clickIds,
        session: step.session,
      });
      if (entry && step.session !== null) this.sessionEntries[step.session] = step.touchpoint;
    }
    step.channel = step.session !== null ? this.sessionChannel : (touch?.channel ?? null);
    this.report(e, name, 'self_reported', t.selfReported);
    this.report(e, name, 'promo_code', t.promoCode);

    if (e.type === 'identify' && e.traits) {
      for (const [k, v] of Object.entries(e.traits)) this.traits[k] = scalarOf(v);
    }
    const stageFields: Fields = (field) => {
      if (field === 'touchpoint') return touch?.channel ?? null;
      if (field === 'session_number') return step.session === null ? null : step.session + 1;
      if (field.startsWith('traits.')) {
        const own = scalarOf(pathOf(e.traits, field.slice(7)));
        return own ?? this.traits[field.slice(7)] ?? null;
      }
      return fields(field);
    };
    const opened = this.stages.step(e.timestamp, e.messageId, name, stageFields);
    step.stage = this.stages.stage;
    return opened;
  }

  /**
   * Whether a view is an arrival from outside: a campaign, another site, or no referrer at all.
   * It is not when its referrer is the site itself (browsing on), when it is an app screen with
   * neither campaign nor referrer (using the app), or when it repeats the referrer and campaign of
   * the previous view from the same browser in this session (the same visit going on: a
   * single-page app repeats the landing's referrer; a reload repeats the campaign).
   */
  private arrives(e: JourneyEvent, t: TouchFields, key: string | null, browser: string): boolean {
    const origin: ViewOrigin = {
      referrer:
        t.arrival === 'internal'
          ? '(internal)'
          : t.referringDomain === null || t.referringDomain === '$direct'
            ? ''
            : t.referringDomain,
      campaignKey: key,
    };
    const previous = this.lastView.get(browser);
    this.lastView.set(browser, origin);
    if (t.arrival !== 'campaign' && t.arrival !== 'referral' && t.arrival !== 'direct') return false;
    if (e.type === 'screen' && t.arrival === 'direct') return false;
    return (
      previous === undefined ||
      previous.referrer !== origin.referrer ||
      (key !== null && key !== previous.campaignKey)
    );
  }

  private report(
    e: JourneyEvent,
    event: string | null,
    field: ReportedSource['field'],
    value: string | null,
  ) {
    if (value === null) return;
    const k = `${field}\u0000${value.toLowerCase()}`;
    if (this.reportedKeys.has(k)) return;
    this.reportedKeys.add(k);
    this.reported.push({ at: e.timestamp, messageId: e.messageId, event, field, value });
  }

  result(asOf?: number): Journey {
    const isBot = this.bot !== null && !this.config.includeBots;
    const stages =
      asOf === undefined ? this.stages.history.map((h) => ({ ...h })) : this.stages.historyAsOf(asOf);
    const sessions: SessionSummary[] = this.cutter.sessions.map((s, index) => {
      const entry = this.sessionEntries[index] ?? null;
      return {
        index,
        start: s.start,
        end: s.end,
        durationMs: s.durationMs,
        eventCount: s.eventCount,
        bounce: s.bounce,
        channel: entry === null ? null : (this.touchpoints[entry]?.channel ?? null),
        landingPage: this.landing[index] ?? null,
        entryTouchpoint: entry,
      };
    });
    const keep = (s: JourneyStep) => this.config.includeBots || s.bot !== 'user_agent';
    return {
      steps: isBot ? [] : this.steps.filter(keep).map((s) => ({ ...s })),
      touchpoints: isBot ? [] : this.touchpoints.map((t) => ({ ...t })),
      reported: isBot ? [] : this.reported.map((r) => ({ ...r })),
      sessions: isBot ? [] : sessions,
      stages: isBot ? [] : stages,
      stage: isBot ? null : (stages[stages.length - 1]?.stage ?? null),
      bot: this.bot,
      botEvents: this.botEvents,
    };
  }
}
