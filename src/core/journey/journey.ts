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
 * Touchpoints are:
 * - `session`: how each session arrived (its first event: campaign, referrer, or direct);
 * - `campaign`: a new campaign or referrer in the middle of a session;
 * - `event`: an event a channel rule of scope `event` matches (sales call, webinar, ticket…).
 * A direct hit inside a session does not replace the campaign it arrived with, unless
 * `directOverridesCampaign` is set.
 *
 * `JourneyBuilder` is incremental: events in time order extend it in O(1); an event earlier than
 * the last one replays the journey, so the result never depends on arrival order.
 */

export interface JourneyConfig {
  channels: ChannelRules;
  stages: CompiledStageModel;
  sessions: SessionOptions;
  touch: TouchOptions;
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
  /** The channel in effect: the session's current one, or the event's own. */
  channel: string | null;
  /** The stage after this event. */
  stage: string | null;
  bot: BotReason | null;
}

export interface Journey {
  steps: JourneyStep[];
  touchpoints: Touchpoint[];
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

class FoldState {
  readonly steps: JourneyStep[] = [];
  readonly touchpoints: Touchpoint[] = [];
  readonly sessionEntries: (number | null)[] = [];
  readonly landing: (string | null)[] = [];
  readonly cutter: SessionCutter;
  readonly stages: StageFold;
  private readonly rate = new RateWatch();
  private traits: Record<string, FieldValue> = {};
  /** The session's campaign in effect (key) and its channel. */
  private sessionCampaign: string | null = null;
  private sessionChannel: string | null = null;
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
    let opensSession = false;
    if (interactive) {
      const key = campaignKeyOf(t);
      const before = this.cutter.sessions.length;
      step.session = this.cutter.push({
        timestamp: e.timestamp,
        campaignKey: key,
        isView,
        isConversion: name !== null && this.config.conversions.has(name),
      });
      if (this.cutter.sessions.length > before) {
        opensSession = true;
        const match = this.config.channels.classify(fields, true);
        touch = {
          kind: match?.scope === 'event' ? 'event' : 'session',
          channel: match?.channel ?? 'Unassigned',
        };
        this.sessionCampaign = key;
        this.sessionChannel = touch.channel;
        this.sessionEntries.push(null);
        this.landing.push(t.landingUrl);
      } else if (key !== null && key !== this.sessionCampaign) {
        touch = {
          kind: 'campaign',
          channel: this.config.channels.classify(fields, true)?.channel ?? 'Unassigned',
        };
        this.sessionCampaign = key;
        this.sessionChannel = touch.channel;
      } else if (
        t.arrival === 'direct' &&
        this.config.directOverridesCampaign &&
        this.sessionCampaign !== null
      ) {
        touch = {
          kind: 'campaign',
          channel: this.config.channels.classify(fields, true)?.channel ?? 'Direct',
        };
        this.sessionCampaign = null;
        this.sessionChannel = touch.channel;
      }
    }
    if (touch === null) {
      const match = this.config.channels.classify(fields, false);
      if (match) touch = { kind: 'event', channel: match.channel };
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
      if (opensSession && step.session !== null) this.sessionEntries[step.session] = step.touchpoint;
    }
    step.channel = step.session !== null ? this.sessionChannel : (touch?.channel ?? null);

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
      sessions: isBot ? [] : sessions,
      stages: isBot ? [] : stages,
      stage: isBot ? null : (stages[stages.length - 1]?.stage ?? null),
      bot: this.bot,
      botEvents: this.botEvents,
    };
  }
}
