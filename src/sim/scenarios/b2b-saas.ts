import type { JsonObject } from '../../core/spec/message.js';
import { company, INDUSTRIES } from '../catalog.js';
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
import type { Action, Person } from '../world.js';
import { type B2bContext, customerLife, newB2bStats, rate, usage } from './b2b-customer-life.js';

const SITE = 'https://www.lumenhq.example';
const PAGES = [
  '/',
  '/pricing',
  '/product',
  '/customers',
  '/blog',
  '/docs',
  '/integrations',
  '/security',
] as const;
const HEARD_ABOUT = ['Google', 'LinkedIn', 'A colleague', 'G2', 'Other'] as const;
/** Planted pattern windows, from the field's lore. */
const PODCAST_WINDOW = [28 * DAY, 42 * DAY] as const;

/**
 * Accounts with several contacts. The causal chain: channel touches → demo request
 * (logistic in intent and exposures) → deal → close (planted podcast-window lift) →
 * subscription → renewals (planted kickoff multiple) and expansion (planted early-support
 * multiple) → churn.
 */
export function b2bSaas(config: SimConfig): Scenario {
  const channels = Object.keys(config.channels);
  const podcastBit = channels.indexOf('Podcast');
  const startMs = Date.parse(`${config.start}T00:00:00Z`);
  const endMs = startMs + config.days * DAY;
  const p = config.patterns;
  const stats = newB2bStats();
  const ctx: B2bContext = { config, endMs, stats };

  function unit(index: number, size: number, { world, outcome, detail }: UnitStreams): UnitResult {
    const accountId = `acct_${index}`;
    const org = company(world, index);
    const intent = world.normal();
    const journeyStart = startMs + world.float() * config.days * DAY;
    const potentialDemoAt = journeyStart + (14 + world.exponential(45)) * DAY;

    const contacts: PersonRecord[] = [];
    for (let i = 0; i < size; i++) {
      const person = newPerson(world, {
        id: `${accountId}.p${i}`,
        accountId,
        domain: org.domain,
        realism: config.realism,
        kinds: ['desktop', 'mobile'],
      });
      contacts.push(record(person));
    }
    shareDevices(
      contacts.map((c) => c.person),
      world,
      config.realism,
    );
    const champion = contacts[0] as PersonRecord;

    // Exposures: touches before the potential demo date; what falls after the period is censored.
    const counts = drawTouches(config, channels, world, intent);
    const touches: { channel: number; at: number; contact: PersonRecord }[] = [];
    counts.forEach((n, c) => {
      // Listeners act weeks after an episode: podcast touches fall 2–10 weeks before the demo date.
      const from = c === podcastBit ? potentialDemoAt - 70 * DAY : journeyStart;
      const to = c === podcastBit ? potentialDemoAt - 14 * DAY : potentialDemoAt;
      for (const at of touchTimes(world, n, from, to)) {
        const contact = world.chance(0.6) ? champion : world.pick(contacts);
        if (at < endMs) touches.push({ channel: c, at, contact });
      }
    });
    let exposedMask = 0;
    for (const t of touches) exposedMask |= 1 << t.channel;

    // Outcome draws, all taken now, whatever happens later.
    const u = { demo: outcome.float(), deal: outcome.float(), win: outcome.float() };
    const dealAt = potentialDemoAt + outcome.between(1, 10) * DAY;
    const closeAt = dealAt + (14 + outcome.exponential(40)) * DAY;
    const amount = Math.round(Math.exp(outcome.normal(Math.log(24_000), 0.6)) / 100) * 100;
    const podcastInWindow = (onMask: number) =>
      podcastBit >= 0 &&
      (onMask & (1 << podcastBit)) !== 0 &&
      touches.some(
        (t) =>
          t.channel === podcastBit &&
          potentialDemoAt - t.at >= PODCAST_WINDOW[0] &&
          potentialDemoAt - t.at <= PODCAST_WINDOW[1],
      );

    const decide = (onMask: number) => {
      const demo =
        potentialDemoAt < endMs &&
        u.demo < sigmoid(conversionLogit(config, channels, intent, exposedMask, onMask));
      const deal = demo && dealAt < endMs && u.deal < 0.6;
      const closed = deal && closeAt < endMs;
      const podcastWindow = podcastInWindow(onMask);
      const lift = podcastWindow ? p.podcastWindowWinLift : 1;
      const won = closed && u.win < Math.min(0.95, 0.3 * lift);
      return { demo, deal, closed, won, podcastWindow };
    };
    const result = (onMask: number) => {
      const d = decide(onMask);
      return { conversions: d.won ? 1 : 0, value: d.won ? amount : 0 };
    };

    const actions: Action[] = [];
    const identify = (
      rec: PersonRecord,
      at: number,
      device: Person['devices'][number] | null,
      traits: JsonObject = {},
    ) => {
      const email = emailAsTyped(rec.person, detail, config.realism);
      rec.emails.add(email);
      const first = !rec.identified;
      rec.identified = true;
      enterStage(rec, 'Lead', at);
      actions.push({
        at,
        person: rec.person,
        device,
        type: 'identify',
        traits: {
          email,
          firstName: rec.person.firstName,
          lastName: rec.person.lastName,
          company: org.name,
          ...traits,
        },
      });
      if (first) {
        actions.push({
          at: at + 1_000,
          person: rec.person,
          device: null,
          type: 'group',
          groupId: accountId,
          traits: { name: org.name, domain: org.domain },
        });
        actions.push({
          at: at + 2_000,
          person: rec.person,
          device: null,
          type: 'track',
          event: 'Lead Created',
          properties: { lead_source: traits.lead_source ?? 'website', company: org.name },
        });
      }
    };

    /** Server-side tools (CRM, help desk, surveys) know a contact by email before they log anything. */
    const known = (rec: PersonRecord, at: number) => {
      if (!rec.identified) identify(rec, at - 60_000, null, { lead_source: 'sales' });
    };

    for (const t of touches) {
      const channel = channels[t.channel] as string;
      const rec = t.contact;
      enterStage(rec, 'Awareness', t.at);
      const device = detail.pick(rec.person.devices);
      const landing = landingFor(channel, detail, true);
      if (landing) {
        visit(actions, detail, {
          person: rec.person,
          device,
          at: t.at,
          site: SITE,
          landing,
          channel,
          pages: PAGES,
          pageCount: detail.int(1, 7),
        });
      } else if (channel === 'Webinar') {
        actions.push({
          at: t.at,
          person: rec.person,
          device,
          type: 'track',
          event: 'Webinar Registered',
          properties: { webinar: 'Attribution without the guesswork' },
          channel,
        });
        identify(rec, t.at + 500, device, { lead_source: 'webinar' });
        if (detail.chance(0.6))
          actions.push({
            at: t.at + 3 * DAY,
            person: rec.person,
            device: null,
            type: 'track',
            event: 'Webinar Attended',
            properties: { webinar: 'Attribution without the guesswork', minutes: detail.int(5, 55) },
            channel,
          });
      } else if (channel === 'Events') {
        if (!rec.identified) identify(rec, t.at - 60_000, null, { lead_source: 'event' });
        actions.push({
          at: t.at,
          person: rec.person,
          device: null,
          type: 'track',
          event: 'Event Attended',
          properties: { event_name: detail.pick(['SaaStr', 'Web Summit', 'MarTech']), badge_scanned: true },
          channel,
        });
      } else if (channel === 'Sales') {
        if (!rec.identified) identify(rec, t.at - 60_000, null, { lead_source: 'outbound' });
        const call = detail.chance(0.3);
        actions.push({
          at: t.at,
          person: rec.person,
          device: null,
          type: 'track',
          event: call ? 'Sales Call Completed' : 'Sales Email Sent',
          properties: {
            rep: detail.pick(['sam@lumenhq.example', 'ria@lumenhq.example']),
            sequence: 'outbound-q3',
          },
          channel,
        });
      }
    }

    const d = decide(allOn(channels.length));
    const podcastHeard = touches.some((t) => t.channel === podcastBit);
    const facts: JsonObject = {
      intent: Math.round(intent * 1000) / 1000,
      demo: d.demo,
      deal: d.deal,
      closed: d.closed,
      won: d.won,
    };
    const accountStages: { stage: string; at: number }[] = [];
    if (touches.length) accountStages.push({ stage: 'Awareness', at: Math.min(...touches.map((t) => t.at)) });

    if (d.demo) {
      const device = champion.person.devices[0] as Person['devices'][number];
      visit(actions, detail, {
        person: champion.person,
        device,
        at: potentialDemoAt - 120_000,
        site: SITE,
        landing: { path: '/demo', query: [], referrer: SITE },
        pages: PAGES,
        pageCount: 1,
      });
      const heard = podcastHeard && detail.chance(0.4) ? 'Podcast' : detail.pick(HEARD_ABOUT);
      identify(champion, potentialDemoAt - 1_000, device, {
        lead_source: 'demo_request',
        how_did_you_hear: heard,
      });
      actions.push({
        at: potentialDemoAt,
        person: champion.person,
        device,
        type: 'track',
        event: 'Demo Requested',
        properties: { how_did_you_hear: heard, employees: 50 * detail.int(1, 40) },
      });
      accountStages.push({ stage: 'Lead', at: potentialDemoAt });
      facts.demoRequestedAt = new Date(potentialDemoAt).toISOString();
      facts.podcastTouchInWindow = d.podcastWindow;
      const windowTally = facts.podcastTouchInWindow ? stats.podcastWindow.with : stats.podcastWindow.without;
      if (d.closed) {
        windowTally.n++;
        if (d.won) windowTally.hits++;
      }
      // Trial usage while the deal runs.
      usage(
        actions,
        detail,
        contacts,
        potentialDemoAt + DAY,
        Math.min(endMs, d.closed ? closeAt : potentialDemoAt + 30 * DAY),
        5,
      );
    }
    if (d.deal) {
      const dealId = `deal_${index}`;
      enterStage(champion, 'Opportunity', dealAt);
      accountStages.push({ stage: 'Opportunity', at: dealAt });
      actions.push({
        at: dealAt,
        person: champion.person,
        device: null,
        type: 'track',
        event: 'Deal Created',
        properties: { deal_id: dealId, amount, stage: 'Discovery' },
        groupId: accountId,
      });
      const stages = ['Evaluation', 'Proposal', 'Negotiation'];
      const steps = detail.int(1, 3);
      for (let s = 0; s < steps; s++) {
        const at = dealAt + ((Math.min(closeAt, endMs) - dealAt) * (s + 1)) / (steps + 1);
        actions.push({
          at,
          person: champion.person,
          device: null,
          type: 'track',
          event: 'Deal Stage Changed',
          properties: { deal_id: dealId, stage: stages[s] ?? 'Negotiation', amount },
          groupId: accountId,
        });
        const meeting = detail.pick(contacts);
        known(meeting, at - DAY);
        actions.push({
          at: at - DAY,
          person: meeting.person,
          device: null,
          type: 'track',
          event: 'Sales Meeting Held',
          properties: { deal_id: dealId, rep: 'ae@lumenhq.example' },
          channel: 'Sales',
        });
      }
      if (d.closed) {
        actions.push({
          at: closeAt,
          person: champion.person,
          device: null,
          type: 'track',
          event: d.won ? 'Deal Closed Won' : 'Deal Closed Lost',
          properties: {
            deal_id: dealId,
            amount: d.won ? amount : 0,
            currency: 'USD',
            ...(d.won ? {} : { reason: detail.pick(['Price', 'No decision', 'Competitor']) }),
          },
          groupId: accountId,
        });
      }
    }
    if (d.won) {
      for (const c of contacts) enterStage(c, 'Customer', closeAt);
      champion.conversions.push({ event: 'Deal Closed Won', at: closeAt, value: amount });
      accountStages.push({ stage: 'Customer', at: closeAt });
      Object.assign(
        facts,
        customerLife(ctx, actions, {
          detail,
          outcome,
          accountId,
          contacts,
          champion,
          closeAt,
          amount,
          podcastHeard,
          accountStages,
          known,
        }),
      );
    }
    facts.stages = accountStages.map((s) => ({ stage: s.stage, at: new Date(s.at).toISOString() }));

    const account: JsonObject = {
      accountId,
      groupId: accountId,
      name: org.name,
      domain: org.domain,
      industry: detail.pick(INDUSTRIES),
      persons: contacts.map((c) => c.person.id),
      ...facts,
      ...(d.won ? { amount } : {}),
    };
    return { actions, people: contacts, account, exposedMask, outcome: result };
  }

  /** Onboarding, usage, support, surveys, billing and renewals of a won account. */
  return {
    channels,
    site: SITE,
    sitePages: PAGES,
    unitSize: (_i, world) => Math.min(8, 1 + world.poisson(1.5)),
    unit,
    plantedTruth: () => ({
      null: config.null,
      podcastWindowBeforeFirstDemo: {
        description:
          'deals with a podcast touch 28–42 days before the first demo request close at a higher rate',
        configuredMultiplier: p.podcastWindowWinLift,
        closeWonRate: {
          withPodcastInWindow: rate(stats.podcastWindow.with),
          without: rate(stats.podcastWindow.without),
        },
        closedDeals: {
          withPodcastInWindow: stats.podcastWindow.with.n,
          without: stats.podcastWindow.without.n,
        },
      },
      kickoffWithin5Days: {
        description:
          'accounts that complete the kickoff questionnaire within 5 days of signing renew at a higher rate',
        configuredMultiplier: p.kickoffRenewalMultiple,
        renewalRate: { within5Days: rate(stats.kickoff.within), later: rate(stats.kickoff.later) },
        renewalDecisions: { within5Days: stats.kickoff.within.n, later: stats.kickoff.later.n },
      },
      earlySupportContact: {
        description: 'customers who contact support in their first 14 days have higher lifetime value',
        configuredExpansionMultiplier: p.earlySupportLtvMultiple,
        meanLifetimeValue: {
          early: stats.earlySupport.early.n
            ? Math.round(stats.earlySupport.early.ltv / stats.earlySupport.early.n)
            : null,
          notEarly: stats.earlySupport.late.n
            ? Math.round(stats.earlySupport.late.ltv / stats.earlySupport.late.n)
            : null,
        },
        customers: { early: stats.earlySupport.early.n, notEarly: stats.earlySupport.late.n },
        expansionRate: {
          early: rate({ n: stats.earlySupport.early.chances, hits: stats.earlySupport.early.expansions }),
          notEarly: rate({ n: stats.earlySupport.late.chances, hits: stats.earlySupport.late.expansions }),
        },
      },
    }),
  };
}
