import type { JsonObject } from '../../core/spec/message.js';
import { DAY } from '../journey-kit.js';
import type { Random } from '../random.js';
import { enterStage, type PersonRecord } from '../scenario.js';
import type { SimConfig } from '../sim-config.js';
import type { Action } from '../world.js';

/** After the deal: billing, onboarding, renewals, expansion, support, surveys and product use. */

const APP_EVENTS = [
  'Report Viewed',
  'Dashboard Created',
  'Insight Shared',
  'Data Source Connected',
  'Alert Configured',
] as const;
/** Planted pattern windows, from the field's lore. */
const KICKOFF_WINDOW = 5 * DAY;
const EARLY_SUPPORT_WINDOW = 14 * DAY;

export interface PatternTally {
  n: number;
  hits: number;
}
export const tally = (): PatternTally => ({ n: 0, hits: 0 });
export const rate = (t: PatternTally) => (t.n ? Math.round((t.hits / t.n) * 10_000) / 10_000 : null);

export function newB2bStats() {
  return {
    podcastWindow: { with: tally(), without: tally() },
    kickoff: { within: tally(), later: tally() },
    earlySupport: {
      early: { n: 0, ltv: 0, chances: 0, expansions: 0 },
      late: { n: 0, ltv: 0, chances: 0, expansions: 0 },
    },
  };
}

/** What the b2b-saas scenario shares with the customer life of its accounts. */
export interface B2bContext {
  config: SimConfig;
  endMs: number;
  /** Running tallies of the planted patterns, for the truth summary. */
  stats: ReturnType<typeof newB2bStats>;
}

export function customerLife(
  ctx: B2bContext,
  actions: Action[],
  a: {
    detail: Random;
    outcome: Random;
    accountId: string;
    contacts: PersonRecord[];
    champion: PersonRecord;
    closeAt: number;
    amount: number;
    podcastHeard: boolean;
    accountStages: { stage: string; at: number }[];
    known: (rec: PersonRecord, at: number) => void;
  },
): JsonObject {
  const { config, endMs, stats } = ctx;
  const p = config.patterns;
  const { detail, outcome, accountId, contacts, champion, closeAt, amount } = a;
  const billing = (at: number, event: string, properties: JsonObject) =>
    actions.push({
      at,
      person: champion.person,
      device: null,
      type: 'track',
      event,
      properties,
      groupId: accountId,
    });
  const termMonths = config.termDays / 30;
  let mrr = Math.round(amount / 12);
  const started = closeAt + outcome.between(0.1, 2) * DAY;
  billing(started, 'Subscription Started', {
    plan: 'Growth',
    mrr,
    amount: Math.round(mrr * termMonths),
    ...(a.podcastHeard && detail.chance(0.3) ? { coupon: 'PODCAST20' } : {}),
  });
  let ltv = Math.round(mrr * termMonths);

  const kickoffDone = outcome.chance(0.85);
  const kickoffAt = closeAt + outcome.exponential(6) * DAY;
  const kickoffWithin = kickoffDone && kickoffAt - closeAt <= KICKOFF_WINDOW;
  if (kickoffDone && kickoffAt < endMs)
    billing(kickoffAt, 'Kickoff Questionnaire Completed', {
      days_after_signing: Math.round((kickoffAt - closeAt) / DAY),
    });
  const supportAt = outcome.chance(0.7) ? closeAt + outcome.exponential(25) * DAY : Number.POSITIVE_INFINITY;
  const earlySupport = supportAt - closeAt <= EARLY_SUPPORT_WINDOW;

  // Renewals at each term's end until cancelled or the period ends.
  let renewals = 0;
  let churnedAt: number | null = null;
  let t = started + config.termDays * DAY;
  const renewRate = Math.min(0.98, 0.8 * (kickoffWithin ? p.kickoffRenewalMultiple : 1));
  const expandRate = Math.min(0.95, 0.2 * (earlySupport ? p.earlySupportLtvMultiple : 1));
  const bucket = earlySupport ? stats.earlySupport.early : stats.earlySupport.late;
  // An upsell within the first term (more seats after onboarding): early support contact
  // multiplies its chance, so the planted lifetime-value gap shows within a year of data.
  const upsellAt = started + outcome.between(20, 60) * DAY;
  const upsells = outcome.float() < expandRate;
  const upsellGrowth = outcome.between(1.3, 2);
  if (upsellAt < Math.min(endMs, t)) {
    bucket.chances++;
    if (upsells) {
      bucket.expansions++;
      const previous = mrr;
      mrr = Math.round(mrr * upsellGrowth);
      const remainingMonths = (t - upsellAt) / (30 * DAY);
      ltv += Math.round((mrr - previous) * remainingMonths);
      billing(upsellAt, 'MRR Changed', { mrr, previous_mrr: previous, reason: 'seats added' });
    }
  }
  const kickTally = kickoffWithin ? stats.kickoff.within : stats.kickoff.later;
  while (t < endMs) {
    const renews = outcome.float() < renewRate;
    const expands = outcome.float() < expandRate;
    const growth = outcome.between(1.1, 1.6);
    kickTally.n++;
    if (!renews) {
      billing(t, 'Subscription Cancelled', {
        mrr: 0,
        previous_mrr: mrr,
        reason: detail.pick(['Budget', 'Low usage', 'Switched vendor']),
      });
      churnedAt = t;
      for (const c of contacts) enterStage(c, 'Churned', t);
      a.accountStages.push({ stage: 'Churned', at: t });
      break;
    }
    kickTally.hits++;
    const previous = mrr;
    bucket.chances++;
    if (expands) {
      bucket.expansions++;
      mrr = Math.round(mrr * growth);
    }
    renewals++;
    ltv += Math.round(mrr * termMonths);
    billing(t, 'Subscription Renewed', {
      mrr,
      previous_mrr: previous,
      amount: Math.round(mrr * termMonths),
    });
    if (mrr !== previous) billing(t + 60_000, 'MRR Changed', { mrr, previous_mrr: previous });
    champion.conversions.push({
      event: 'Subscription Renewed',
      at: t,
      value: Math.round(mrr * termMonths),
    });
    for (const c of contacts) enterStage(c, 'Renewed', t);
    if (renewals === 1) a.accountStages.push({ stage: 'Renewed', at: t });
    t += config.termDays * DAY;
  }
  const lifeEnd = Math.min(endMs, churnedAt ?? endMs);
  bucket.n++;
  bucket.ltv += ltv;

  // Support tickets, CSAT and NPS.
  let ticketAt = supportAt;
  while (ticketAt < lifeEnd) {
    const who = detail.pick(contacts);
    a.known(who, ticketAt);
    const ticket = `T-${detail.token(6)}`;
    actions.push({
      at: ticketAt,
      person: who.person,
      device: null,
      type: 'track',
      event: 'Ticket Created',
      properties: { ticket_id: ticket, priority: detail.pick(['low', 'normal', 'high']) },
      channel: 'Support',
    });
    const solved = ticketAt + detail.exponential(1.5) * DAY;
    if (solved < endMs) {
      actions.push({
        at: solved,
        person: who.person,
        device: null,
        type: 'track',
        event: 'Ticket Resolved',
        properties: { ticket_id: ticket },
      });
      actions.push({
        at: solved + DAY,
        person: who.person,
        device: null,
        type: 'track',
        event: 'Survey Responded',
        properties: {
          survey: 'CSAT',
          score: detail.weighted([
            [5, 5],
            [4, 3],
            [3, 1],
            [2, 0.5],
            [1, 0.5],
          ] as const),
          ticket_id: ticket,
        },
      });
    }
    ticketAt += detail.exponential(45) * DAY;
  }
  for (let npsAt = closeAt + 30 * DAY; npsAt < lifeEnd; npsAt += 90 * DAY) {
    const who = detail.pick(contacts);
    a.known(who, npsAt);
    const score = Math.max(0, Math.min(10, Math.round(detail.normal(kickoffWithin ? 8.3 : 7.2, 1.8))));
    actions.push({
      at: npsAt,
      person: who.person,
      device: null,
      type: 'track',
      event: 'Survey Responded',
      properties: { survey: 'NPS', score },
    });
    if (score >= 9) enterStage(who, 'Advocate', npsAt);
  }
  // Onboarding and everyday use.
  const users = contacts.filter((_c, i) => i === 0 || detail.chance(0.8));
  for (const u of users) {
    const device = u.person.devices[0];
    if (!device) continue;
    const signup = closeAt + detail.between(0.5, 10) * DAY;
    if (signup >= lifeEnd) continue;
    actions.push({
      at: signup,
      person: u.person,
      device,
      type: 'identify',
      traits: { email: u.person.email, role: detail.pick(['admin', 'analyst', 'viewer']) },
    });
    u.emails.add(u.person.email);
    u.identified = true;
    actions.push({
      at: signup + 5_000,
      person: u.person,
      device,
      type: 'track',
      event: 'Signed Up',
      properties: { method: 'invite' },
    });
  }
  usage(actions, detail, users, closeAt + DAY, lifeEnd, 12);
  return {
    subscriptionStartedAt: new Date(started).toISOString(),
    kickoffWithin5Days: kickoffWithin,
    earlySupportContact: earlySupport,
    renewals,
    churnedAt: churnedAt === null ? null : new Date(churnedAt).toISOString(),
    lifetimeValue: ltv,
    finalMrr: mrr,
  };
}

export function usage(
  actions: Action[],
  rng: Random,
  users: PersonRecord[],
  from: number,
  to: number,
  perWeek: number,
): void {
  for (const u of users) {
    const device = u.person.devices[0];
    if (!device) continue;
    for (let week = from; week < to; week += 7 * DAY) {
      const n = rng.poisson(perWeek);
      for (let i = 0; i < n; i++) {
        const at = week + rng.float() * 7 * DAY;
        if (at < to)
          actions.push({
            at,
            person: u.person,
            device,
            type: 'track',
            event: rng.pick(APP_EVENTS),
            properties: { workspace: 'main' },
          });
      }
    }
  }
}
