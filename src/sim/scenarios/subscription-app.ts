import type { JsonObject } from '../../core/spec/message.js';
import { allOn, sigmoid } from '../causal.js';
import { DAY, emailAsTyped, landingFor, newPerson, shareDevices, touchTimes, visit } from '../journey-kit.js';
import {
  conversionLogit,
  drawTouches,
  enterStage,
  type PersonRecord,
  record,
  type Scenario,
  type UnitResult,
  type UnitStreams,
} from '../scenario.js';
import type { SimConfig } from '../sim-config.js';
import type { Action, Device } from '../world.js';

const SITE = 'https://www.habitly.example';
const PAGES = ['/', '/features', '/pricing', '/blog', '/download'] as const;
const SCREENS = ['Home', 'Today', 'Habits', 'Stats', 'Settings', 'Paywall'] as const;
const MILESTONES = ['Onboarding Completed', 'Habit Created', 'Reminder Set', 'Streak Reached'] as const;
const ACQUISITION = new Set([
  'App Store Search',
  'Paid Social',
  'Influencer',
  'Organic Social',
  'Referral',
  'Direct',
]);
const TRIAL_DAYS = 14;
const PRICE = 9.99;

interface Subscriber {
  rec: PersonRecord;
  intent: number;
  installAt: number;
  trialEnd: number;
  touches: { c: number; at: number }[];
  mask: number;
  behaviour: Behaviour;
  signsUp: boolean;
  /** Outcome draws: the paid conversion, then one per paid month (churn). */
  u: number;
  months: number[];
}

interface Behaviour {
  activated: boolean;
  pushEnabled: boolean;
  unresolvedTicket: boolean;
  weeklyActive: boolean;
}

/**
 * Mobile-first subscriptions: install → sign-up → trial → activation milestones → paid
 * (causal model) → monthly renewals until churn. Churn is a monthly hazard multiplied by
 * configured hazard ratios of behaviours: the churn drivers the truth names.
 */
export function subscriptionApp(config: SimConfig): Scenario {
  const channels = Object.keys(config.channels);
  const startMs = Date.parse(`${config.start}T00:00:00Z`);
  const endMs = startMs + config.days * DAY;
  const hr = config.churn;
  const churnTally = new Map<string, { months: number; churned: number }>();

  const hazard = (b: Behaviour) =>
    Math.min(
      0.95,
      hr.baseMonthlyHazard *
        (b.activated ? 1 : hr.notActivated) *
        (b.pushEnabled ? 1 : hr.pushDisabled) *
        (b.unresolvedTicket ? hr.supportTicketUnresolved : 1) *
        (b.weeklyActive ? hr.weeklyActive : 1),
    );

  function unit(index: number, size: number, { world, outcome, detail }: UnitStreams): UnitResult {
    const people: Subscriber[] = [];
    for (let i = 0; i < size; i++) {
      const person = newPerson(world, {
        id: `hh_${index}.p${i}`,
        accountId: null,
        domain: world.pick(['gmail.com', 'icloud.com', 'yahoo.com']),
        realism: config.realism,
        kinds: ['app', 'mobile', 'desktop'],
      });
      const intent = world.normal();
      const installAt = startMs + world.float() * config.days * DAY;
      const trialEnd = installAt + TRIAL_DAYS * DAY;
      const touches: { c: number; at: number }[] = [];
      drawTouches(config, channels, world, intent).forEach((n, c) => {
        const name = channels[c] as string;
        // Acquisition channels reach people before the install, engagement channels during the trial.
        const [from, to] = ACQUISITION.has(name)
          ? [installAt - 10 * DAY, installAt]
          : [installAt + DAY, trialEnd];
        for (const at of touchTimes(world, n, from, to)) if (at < endMs) touches.push({ c, at });
      });
      let mask = 0;
      for (const t of touches) mask |= 1 << t.c;
      const behaviour: Behaviour = {
        activated: world.chance(sigmoid(0.3 + 0.8 * intent)),
        pushEnabled: world.chance(0.65),
        unresolvedTicket: world.chance(0.06),
        weeklyActive: world.chance(sigmoid(-0.2 + 0.9 * intent)),
      };
      const signsUp = world.chance(1 - config.realism.neverIdentifyRate * 0.5);
      people.push({
        rec: record(person),
        intent,
        installAt,
        trialEnd,
        touches,
        mask,
        behaviour,
        signsUp,
        u: outcome.float(),
        months: Array.from({ length: 24 }, () => outcome.float()),
      });
    }
    shareDevices(
      people.map((p) => p.rec.person),
      world,
      config.realism,
    );

    const converts = (p: Subscriber, onMask: number) =>
      p.signsUp &&
      p.trialEnd < endMs &&
      p.u <
        sigmoid(
          conversionLogit(config, channels, p.intent, p.mask, onMask) + (p.behaviour.activated ? 0.8 : 0),
        );
    /** Paid months until churn or the period's end: the conversion's value. */
    const paidMonths = (p: Subscriber) => {
      let months = 0;
      for (let t = p.trialEnd; t < endMs && months < p.months.length; t += 30 * DAY) {
        months++;
        if ((p.months[months - 1] as number) < hazard(p.behaviour))
          return { months, churnAt: t + 30 * DAY < endMs ? t + 30 * DAY : null };
      }
      return { months, churnAt: null };
    };
    const result = (onMask: number) => {
      let conversions = 0;
      let value = 0;
      for (const p of people) {
        if (!converts(p, onMask)) continue;
        conversions++;
        value += Math.round(PRICE * 100) / 100;
      }
      return { conversions, value: Math.round(value * 100) / 100 };
    };

    const actions: Action[] = [];
    let exposedMask = 0;
    for (const p of people) {
      exposedMask |= p.mask;
      const { person } = p.rec;
      const app = (person.devices.find((d) => d.kind === 'app') ?? person.devices[0]) as Device;
      const track = (at: number, event: string, properties: JsonObject = {}, channel?: string) =>
        actions.push({
          at,
          person,
          device: app,
          type: 'track',
          event,
          properties,
          ...(channel ? { channel } : {}),
        });
      for (const t of p.touches) {
        const channel = channels[t.c] as string;
        enterStage(p.rec, 'Awareness', t.at);
        if (channel === 'Mobile Push Notifications') {
          track(
            t.at,
            'Push Notification Opened',
            { campaign: detail.pick(['streak-reminder', 'trial-ending', 'new-feature']) },
            channel,
          );
          continue;
        }
        if (channel === 'App Store Search') {
          track(
            p.installAt + 30_000,
            'Install Attributed',
            {
              provider: 'AppsFlyer',
              campaign: { source: 'apple_search_ads', name: 'brand-exact', ad_group: 'habits' },
            },
            channel,
          );
          continue;
        }
        const landing = landingFor(channel, detail, false);
        if (!landing) continue;
        const browsers = person.devices.filter((d) => d.kind !== 'app');
        const device = browsers.length ? detail.pick(browsers) : app;
        visit(actions, detail, {
          person,
          device,
          at: t.at,
          site: SITE,
          landing,
          channel,
          pages: PAGES,
          pageCount: detail.int(1, 3),
        });
      }
      track(p.installAt, 'Application Installed', { version: '5.2.0', build: '5201' });
      actions.push({ at: p.installAt + 5_000, person, device: app, type: 'screen', name: 'Home' });
      if (!p.signsUp) continue;
      const email = emailAsTyped(person, detail, config.realism);
      p.rec.emails.add(email);
      p.rec.identified = true;
      const signupAt = p.installAt + detail.between(60_000, 2 * DAY);
      enterStage(p.rec, 'Trial', signupAt);
      actions.push({
        at: signupAt,
        person,
        device: app,
        type: 'identify',
        traits: { email, firstName: person.firstName, push_enabled: p.behaviour.pushEnabled },
      });
      track(signupAt + 2_000, 'Trial Started', { plan: 'Premium', trial_days: TRIAL_DAYS });
      // Other devices: the web app links through an alias now and then, a login otherwise.
      for (const d of person.devices) {
        if (d === app || !detail.chance(0.5)) continue;
        actions.push({
          at: signupAt + detail.between(1, 20) * DAY,
          person,
          device: d,
          type: detail.chance(0.3) ? 'alias' : 'identify',
          ...(detail.chance(0.5) ? { traits: { email } } : {}),
        });
      }
      const milestones = p.behaviour.activated ? MILESTONES.length : detail.int(0, 1);
      for (let m = 0; m < milestones; m++)
        track(signupAt + (m + 1) * detail.between(0.2, 2) * DAY, MILESTONES[m] as string);
      if (p.behaviour.activated) enterStage(p.rec, 'Activated', signupAt + DAY);
      const paid = converts(p, allOn(channels.length)) ? paidMonths(p) : null;
      const activeUntil = paid ? (paid.churnAt ?? endMs) : p.trialEnd;
      for (
        let day = signupAt;
        day < Math.min(activeUntil, endMs);
        day += DAY * (p.behaviour.weeklyActive ? detail.between(1, 3) : detail.between(4, 12))
      ) {
        actions.push({
          at: day + detail.between(0, 0.9) * DAY,
          person,
          device: app,
          type: 'screen',
          name: detail.pick(SCREENS),
        });
        if (detail.chance(0.5)) track(day + 0.95 * DAY, 'Habit Checked', { streak: detail.int(1, 60) });
      }
      if (p.behaviour.unresolvedTicket)
        actions.push({
          at: signupAt + detail.between(2, 20) * DAY,
          person,
          device: null,
          type: 'track',
          event: 'Ticket Created',
          properties: { topic: 'Sync', status: 'open' },
          channel: 'Support',
        });
      if (!paid) continue;
      const { months, churnAt } = paid;
      enterStage(p.rec, 'Customer', p.trialEnd);
      actions.push({
        at: p.trialEnd,
        person,
        device: null,
        type: 'track',
        event: 'Subscription Started',
        properties: { plan: 'Premium', price: PRICE, currency: 'USD', period: 'monthly' },
      });
      p.rec.conversions.push({ event: 'Subscription Started', at: p.trialEnd, value: PRICE });
      for (let m = 1; m < months; m++) {
        const at = p.trialEnd + m * 30 * DAY;
        actions.push({
          at,
          person,
          device: null,
          type: 'track',
          event: 'Subscription Renewed',
          properties: { plan: 'Premium', price: PRICE, month: m + 1 },
        });
        p.rec.conversions.push({ event: 'Subscription Renewed', at, value: PRICE });
      }
      const key = behaviourKey(p.behaviour);
      const tally = churnTally.get(key) ?? { months: 0, churned: 0 };
      tally.months += months;
      if (churnAt !== null) {
        tally.churned++;
        enterStage(p.rec, 'Churned', churnAt);
        actions.push({
          at: churnAt,
          person,
          device: null,
          type: 'track',
          event: 'Subscription Cancelled',
          properties: {
            plan: 'Premium',
            reason: detail.pick(['Too expensive', 'Not using it', 'Switched app']),
          },
        });
      }
      churnTally.set(key, tally);
      p.rec.facts = {
        ...p.behaviour,
        monthlyChurnHazard: Math.round(hazard(p.behaviour) * 10_000) / 10_000,
        paidMonths: months,
      };
    }
    return { actions, people: people.map((p) => p.rec), account: null, exposedMask, outcome: result };
  }

  return {
    channels,
    site: SITE,
    sitePages: PAGES,
    unitSize: (_i, world) => (world.chance(0.1) ? 2 : 1),
    unit,
    plantedTruth: () => ({
      null: config.null,
      churnDrivers: {
        description: 'monthly churn hazard = base × the hazard ratio of each behaviour that applies',
        baseMonthlyHazard: hr.baseMonthlyHazard,
        hazardRatios: {
          notActivated: hr.notActivated,
          pushDisabled: hr.pushDisabled,
          supportTicketUnresolved: hr.supportTicketUnresolved,
          weeklyActive: hr.weeklyActive,
        },
        realisedMonthlyChurnByBehaviour: Object.fromEntries(
          [...churnTally.entries()].sort().map(([k, t]) => [
            k,
            {
              paidMonths: t.months,
              churned: t.churned,
              rate: t.months ? Math.round((t.churned / t.months) * 10_000) / 10_000 : null,
            },
          ]),
        ),
      },
    }),
  };
}

const behaviourKey = (b: Behaviour) =>
  [
    b.activated ? 'activated' : 'notActivated',
    b.pushEnabled ? 'pushOn' : 'pushDisabled',
    b.unresolvedTicket ? 'ticketOpen' : 'noTicket',
    b.weeklyActive ? 'weeklyActive' : 'occasional',
  ].join('+');
