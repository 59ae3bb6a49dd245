import type { JsonObject } from '../core/spec/message.js';
import { ipAddress, LOCALES, USER_AGENTS } from './catalog.js';
import type { Random } from './random.js';
import type { Realism } from './sim-config.js';

/** A browser, phone app or shared computer: one anonymousId, one clock, one user agent. */
export interface Device {
  anonymousId: string;
  kind: 'desktop' | 'mobile' | 'app' | 'bot';
  userAgent: string;
  ip: string;
  locale: string;
  /** How far this device's clock is off, ms (0 for most). */
  skewMs: number;
  /** Set when another person of the unit also uses this device. */
  shared: boolean;
}

export interface Person {
  id: string;
  accountId: string | null;
  userId: string;
  email: string;
  firstName: string;
  lastName: string;
  devices: Device[];
  isBot: boolean;
}

/** Something a person really did, at its true time, before SDK and network effects. */
export interface Action {
  at: number;
  person: Person;
  /** null: sent server-side (CRM, billing, support desk) under the person's userId. */
  device: Device | null;
  type: 'page' | 'screen' | 'track' | 'identify' | 'group' | 'alias';
  event?: string;
  name?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  /** Extra context (page, campaign); library, userAgent, ip and locale are added from the device. */
  context?: JsonObject;
  groupId?: string;
  /** The true channel when this action is a marketing, sales or support touch. */
  channel?: string;
  /** Bots drop cookies: each of their hits gets a fresh anonymousId. */
  freshAnonymousId?: boolean;
}

/** One line of simulator output, with what is true about it. */
export interface Emitted {
  receivedAt: number;
  line: string;
  messageId: string;
  personId: string;
  accountId: string | null;
  channel: string | null;
  duplicate: boolean;
  type: Action['type'];
  anonymousId: string | null;
}

const LIBRARIES = {
  web: { name: 'analytics.js', version: 'next-1.72.0' },
  app: { name: 'analytics-react-native', version: '2.20.3' },
  server: { name: 'analytics-node', version: '3.1.0' },
} as const;

export function newDevice(rng: Random, kind: Device['kind'], realism: Realism): Device {
  const skewed = kind !== 'bot' && rng.chance(realism.clockSkewRate);
  return {
    anonymousId: rng.uuid(),
    kind,
    userAgent: rng.pick(
      kind === 'desktop' ? USER_AGENTS.desktop : kind === 'bot' ? USER_AGENTS.bot : USER_AGENTS.mobile,
    ),
    ip: ipAddress(rng),
    locale: rng.pick(LOCALES),
    // Minutes to days, either way: dead CMOS batteries, manual clocks, wrong time zones.
    skewMs: skewed ? Math.round((rng.chance(0.5) ? 1 : -1) * rng.exponential(3 * 3600_000)) : 0,
    shared: false,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Turns a unit's true actions into the messages SDKs would have sent, in arrival order.
 * Applies what happens between a person and the collector: devices remember whoever
 * identified on them last (so a shared device reports the wrong user), clocks are off,
 * offline devices flush hours later, retries deliver twice.
 */
export function emitActions(actions: Action[], rng: Random, realism: Realism): Emitted[] {
  const ordered = actions
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.at - y.a.at || x.i - y.i)
    .map((x) => x.a);
  const signedIn = new Map<Device, string>();
  const out: Emitted[] = [];

  for (const action of ordered) {
    const { device, person } = action;
    const messageId = rng.uuid();
    let anonymousId: string | null = null;
    let userId: string | null = null;
    if (device) {
      anonymousId = action.freshAnonymousId ? rng.uuid() : device.anonymousId;
      if (action.type === 'identify' || action.type === 'alias') signedIn.set(device, person.userId);
      userId = signedIn.get(device) ?? null;
    } else {
      userId = person.userId;
    }

    const library =
      device === null ? LIBRARIES.server : device.kind === 'app' ? LIBRARIES.app : LIBRARIES.web;
    const context: JsonObject = { library: { ...library } };
    if (device) {
      context.userAgent = device.userAgent;
      context.ip = device.ip;
      context.locale = device.locale;
    }
    if (action.context) Object.assign(context, action.context);

    // Clocks: the event happens at `at`; the device stamps it with its own (skewed) clock and
    // sends it after a flush delay; the collector receives it a network hop later.
    const skew = device?.skewMs ?? 0;
    const flushDelay =
      device === null
        ? rng.between(5, 400)
        : rng.chance(realism.lateRate)
          ? rng.between(1, 12) * 3600_000
          : rng.between(20, 10_000);
    const sentTrue = action.at + flushDelay;
    const receivedAt = Math.round(sentTrue + rng.between(15, 350));

    const message: JsonObject = { type: action.type, messageId };
    if (anonymousId !== null) message.anonymousId = anonymousId;
    if (userId !== null) message.userId = userId;
    if (action.type === 'alias') message.previousId = device?.anonymousId ?? null;
    if (action.groupId !== undefined) message.groupId = action.groupId;
    if (action.event !== undefined) message.event = action.event;
    if (action.name !== undefined) message.name = action.name;
    if (action.properties !== undefined) message.properties = action.properties;
    if (action.traits !== undefined) message.traits = action.traits;
    message.context = context;
    message.timestamp = iso(Math.round(action.at + skew));
    message.sentAt = iso(Math.round(sentTrue + skew));

    const emit = (sentAt: number, received: number, duplicate: boolean) => {
      message.sentAt = iso(Math.round(sentAt + skew));
      message.receivedAt = iso(received);
      out.push({
        receivedAt: received,
        line: JSON.stringify(message),
        messageId,
        personId: person.id,
        accountId: person.accountId,
        channel: action.channel ?? null,
        duplicate,
        type: action.type,
        anonymousId,
      });
    };
    emit(sentTrue, receivedAt, false);
    if (rng.chance(realism.duplicateRate)) {
      // A retry after a lost acknowledgement: same message, sent again seconds to minutes later.
      const retry = sentTrue + rng.between(1_000, 120_000);
      emit(retry, Math.round(retry + rng.between(15, 350)), true);
    }
  }
  return out.sort((x, y) => x.receivedAt - y.receivedAt);
}
