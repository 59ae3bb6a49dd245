import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, MessageType } from '../spec/message.js';
import { ChannelRules } from './channel-rules.js';
import { B2B_SAAS_STAGES, ECOMMERCE_STAGES } from './default-stages.js';
import { buildJourney, JourneyBuilder, journeyConfig } from './journey.js';
import type { JourneyEvent } from './journey-event.js';
import { BASE_RULES } from './rulesets.js';
import { CompiledStageModel } from './stages.js';

const SITE = 'https://acme.example';
const CHROME =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const config = journeyConfig(
  ChannelRules.compile(BASE_RULES.journey),
  CompiledStageModel.compile(B2B_SAAS_STAGES),
);
const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2026-03-02T09:00:00Z');

let seq = 0;
function ev(at: number, type: MessageType, fields: Partial<JourneyEvent> = {}): JourneyEvent {
  seq++;
  return {
    seq,
    messageId: `m${seq}`,
    type,
    event: null,
    name: null,
    groupId: null,
    timestamp: at,
    properties: null,
    traits: null,
    context: null,
    ...fields,
  };
}
/** A browser page view: path with query, and a referrer ('' for none). */
function page(at: number, pathAndQuery: string, referrer = '', extra: JsonObject = {}): JourneyEvent {
  const url = `${SITE}${pathAndQuery}`;
  const q = pathAndQuery.indexOf('?');
  return ev(at, 'page', {
    context: {
      userAgent: CHROME,
      page: {
        url,
        path: q < 0 ? pathAndQuery : pathAndQuery.slice(0, q),
        referrer,
        search: q < 0 ? '' : pathAndQuery.slice(q),
      },
      ...extra,
    },
  });
}
const browserTrack = (at: number, event: string, properties: JsonObject = {}) =>
  ev(at, 'track', {
    event,
    properties,
    context: { userAgent: CHROME, page: { url: `${SITE}/signup`, referrer: '' } },
  });
const serverTrack = (at: number, event: string, properties: JsonObject = {}) =>
  ev(at, 'track', { event, properties });

describe('touchpoints and channels', () => {
  it('a B2B path: organic search, email campaign, sign-up, sales meeting, deal', () => {
    const events = [
      page(T0, '/blog/attribution', 'https://www.google.com/'),
      page(T0 + 2 * MIN, '/pricing', `${SITE}/blog/attribution`),
      page(T0 + 3 * DAY, '/whats-new?utm_source=hubspot&utm_medium=email&utm_campaign=nurture-3', ''),
      page(T0 + 3 * DAY + MIN, '/pricing', ''), // a direct hit inside the session: not a new touch
      browserTrack(T0 + 3 * DAY + 2 * MIN, 'Signed Up'),
      serverTrack(T0 + 10 * DAY, 'Sales Meeting Held'),
      serverTrack(T0 + 11 * DAY, 'Deal Created', { amount: 12000 }),
      serverTrack(T0 + 40 * DAY, 'Deal Closed Won', { amount: 12000 }),
    ];
    const j = buildJourney(events, config);
    expect(j.touchpoints.map((t) => [t.kind, t.channel])).toEqual([
      ['session', 'Organic Search'],
      ['session', 'Email'],
      ['event', 'Sales'],
    ]);
    expect(j.touchpoints[0]).toMatchObject({
      source: 'google',
      medium: 'organic',
      referringDomain: 'www.google.com',
    });
    expect(j.touchpoints[1]).toMatchObject({ source: 'hubspot', medium: 'email', campaign: 'nurture-3' });
    expect(j.sessions.map((s) => [s.channel, s.eventCount, s.bounce])).toEqual([
      ['Organic Search', 2, false],
      ['Email', 3, false],
    ]);
    expect(j.sessions[0]?.landingPage).toBe(`${SITE}/blog/attribution`);
    // Server-side events stand outside sessions; the sign-up inherits the session's channel.
    expect(j.steps.map((s) => s.session)).toEqual([0, 0, 1, 1, 1, null, null, null]);
    expect(j.steps[4]?.channel).toBe('Email');
    expect(j.stages.map((s) => [s.stage, s.enteredAt - T0])).toEqual([
      ['awareness', 0],
      ['engaged', 3 * DAY],
      ['lead', 3 * DAY + 2 * MIN],
      ['opportunity', 11 * DAY],
      ['customer', 40 * DAY],
    ]);
    expect(j.stages[0]?.exitedAt).toBe(T0 + 3 * DAY);
    expect(j.stage).toBe('customer');
  });

  it('a direct return inside a session is a Direct touchpoint; it replaces the channel in effect only when configured', () => {
    // Changed with issue 13: touchpoints are facts, `directOverridesCampaign` only changes the
    // channel in effect (the attribution view). Before, the setting decided whether the direct
    // hit was a touchpoint at all, and any hit without referrer counted as one.
    const events = [
      page(T0, '/?utm_source=newsletter&utm_medium=email&utm_campaign=jan'),
      page(T0 + MIN, '/pricing', `${SITE}/`),
      page(T0 + 2 * MIN, '/', ''), // typed the address again: no referrer after a page that had one
    ];
    const overriding = { ...config, directOverridesCampaign: true };
    for (const c of [config, overriding]) {
      expect(buildJourney(events, c).touchpoints.map((t) => [t.kind, t.channel])).toEqual([
        ['session', 'Email'],
        ['campaign', 'Direct'],
      ]);
    }
    expect(buildJourney(events, config).steps.map((s) => s.channel)).toEqual(['Email', 'Email', 'Email']);
    expect(buildJourney(events, overriding).steps.map((s) => s.channel)).toEqual([
      'Email',
      'Email',
      'Direct',
    ]);
  });

  it('a view without referrer that the rules place elsewhere (a vanity URL) replaces the channel in effect', () => {
    const events = [
      page(T0, '/?utm_source=newsletter&utm_medium=email&utm_campaign=jan'),
      page(T0 + MIN, '/pricing', `${SITE}/`),
      page(T0 + 2 * MIN, '/podcast', ''),
      page(T0 + 3 * MIN, '/', ''), // the same visit going on
      page(T0 + 4 * MIN, '/docs', `${SITE}/`),
      page(T0 + 5 * MIN, '/', ''), // typed in: Direct, which does not overwrite
    ];
    const j = buildJourney(events, config);
    expect(j.touchpoints.map((t) => [t.kind, t.channel])).toEqual([
      ['session', 'Email'],
      ['campaign', 'Podcast'],
      ['campaign', 'Direct'],
    ]);
    expect(j.steps.map((s) => s.channel)).toEqual([
      'Email',
      'Email',
      'Podcast',
      'Podcast',
      'Podcast',
      'Podcast',
    ]);
  });

  it('a view repeating the previous view’s referrer and campaign is the same visit (single-page apps)', () => {
    // Changed with issue 13 (was: the second hit is a Direct touchpoint when directOverridesCampaign
    // is set). A single-page app's page calls repeat the landing's referrer (none, from an email)
    // and drop its parameters: that is the visit going on, in any configuration.
    const events = [
      page(T0, '/?utm_source=newsletter&utm_medium=email&utm_campaign=jan'),
      page(T0 + MIN, '/pricing', ''),
      page(T0 + 2 * MIN, '/docs', 'https://www.google.com/'),
      page(T0 + 3 * MIN, '/docs/setup', 'https://www.google.com/'),
    ];
    for (const c of [config, { ...config, directOverridesCampaign: true }]) {
      expect(buildJourney(events, c).touchpoints.map((t) => [t.kind, t.channel])).toEqual([
        ['session', 'Email'],
        ['campaign', 'Organic Search'],
      ]);
    }
  });

  it('product events are activity, not arrivals: they make sessions without touchpoints', () => {
    // Issue 13: browser track calls without page context ("Report Viewed") opened a Direct
    // session and touchpoint each; app screens without campaign or referrer did the same.
    const appUsage = (at: number, event: string) =>
      ev(at, 'track', { event, properties: { workspace: 'main' }, context: { userAgent: CHROME } });
    const screen = (at: number, name: string) =>
      ev(at, 'screen', { name, context: { userAgent: 'Habitly/5.2 CFNetwork/1490 Darwin/23.2.0' } });
    const events = [
      appUsage(T0, 'Report Viewed'),
      appUsage(T0 + 5 * MIN, 'Dashboard Created'),
      appUsage(T0 + DAY, 'Report Viewed'),
      screen(T0 + 2 * DAY, 'Home'),
      screen(T0 + 2 * DAY + MIN, 'Stats'),
      page(T0 + 2 * DAY + 2 * MIN, '/pricing'), // then the site, typed in: a Direct arrival
      ev(T0 + 3 * DAY, 'screen', {
        name: 'Offer',
        context: {
          userAgent: 'Habitly/5.2 CFNetwork/1490 Darwin/23.2.0',
          campaign: { source: 'braze', medium: 'push', name: 'trial-ending' },
        },
      }),
    ];
    const j = buildJourney(events, config);
    expect(j.sessions.map((s) => [s.eventCount, s.channel])).toEqual([
      [2, null],
      [1, null],
      [3, 'Direct'],
      [1, 'Mobile Push Notifications'],
    ]);
    expect(j.touchpoints.map((t) => [t.kind, t.channel, t.event])).toEqual([
      ['session', 'Direct', null],
      ['session', 'Mobile Push Notifications', 'Offer'],
    ]);
    expect(j.steps.map((s) => s.channel)).toEqual([
      null,
      null,
      null,
      null,
      null,
      'Direct',
      'Mobile Push Notifications',
    ]);
  });

  it('an event rule opening a visit is its entry; later direct views keep its channel in effect', () => {
    const opened = ev(T0, 'track', {
      event: 'Push Notification Tapped',
      context: { userAgent: CHROME },
    });
    const j = buildJourney([opened, page(T0 + MIN, '/')], config);
    expect(j.touchpoints.map((t) => [t.kind, t.channel])).toEqual([
      ['event', 'Mobile Push Notifications'],
      ['campaign', 'Direct'],
    ]);
    expect(j.sessions[0]).toMatchObject({ channel: 'Mobile Push Notifications', entryTouchpoint: 0 });
    expect(j.steps.map((s) => s.channel)).toEqual(['Mobile Push Notifications', 'Mobile Push Notifications']);
  });

  it('a new campaign inside a session is a touchpoint of its own (GA4 sessions do not split)', () => {
    const events = [
      page(T0, '/', 'https://www.bing.com/'),
      page(T0 + MIN, '/lp?utm_source=linkedin&utm_medium=paid_social&li_fat_id=x'),
    ];
    const j = buildJourney(events, config);
    expect(j.sessions).toHaveLength(1);
    expect(j.touchpoints.map((t) => [t.kind, t.channel])).toEqual([
      ['session', 'Organic Search'],
      ['campaign', 'Paid Social'],
    ]);
    expect(j.touchpoints[1]?.clickIds).toEqual({ li_fat_id: 'x' });
  });

  it('click ids: gclid alone is Google paid search, msclkid Bing', () => {
    const j = buildJourney([page(T0, '/?gclid=abc'), page(T0 + DAY, '/?msclkid=def')], config);
    expect(j.touchpoints.map((t) => [t.source, t.medium, t.channel])).toEqual([
      ['google', 'cpc', 'Paid Search'],
      ['bing', 'cpc', 'Paid Search'],
    ]);
  });

  it('podcast: the vanity URL is a touchpoint; "how did you hear about us" is reported, not a touch', () => {
    // Changed with issue 13 (was: the form's answer is a second Podcast touchpoint). The answer
    // tells of a contact at some earlier time; dated at the form it double-counted the podcast
    // (the visit, the identify call's traits, the form) and sat on the conversion itself.
    const j = buildJourney(
      [
        page(T0, '/podcast'),
        ev(T0 + DAY - MIN, 'identify', { traits: { how_did_you_hear: 'The SaaS Growth Podcast' } }),
        browserTrack(T0 + DAY, 'Signed Up', { how_did_you_hear: 'The SaaS Growth Podcast' }),
        serverTrack(T0 + 9 * DAY, 'Order Completed', { coupon: 'PODCAST20' }),
      ],
      config,
    );
    expect(j.touchpoints.map((t) => [t.kind, t.channel])).toEqual([['session', 'Podcast']]);
    expect(j.reported.map((r) => [r.field, r.value, r.at - T0])).toEqual([
      ['self_reported', 'The SaaS Growth Podcast', DAY - MIN],
      ['promo_code', 'PODCAST20', 9 * DAY],
    ]);
    // A workspace that counts answers as touches says so with an event rule.
    const counting = journeyConfig(
      ChannelRules.compile([
        {
          channel: 'Podcast',
          scope: 'event',
          when: { field: 'self_reported', op: 'contains', value: 'podcast' },
        },
        ...BASE_RULES.journey,
      ]),
      config.stages,
    );
    expect(
      buildJourney(
        [page(T0, '/podcast'), browserTrack(T0 + DAY, 'Signed Up', { how_did_you_hear: 'Podcast' })],
        counting,
      ).touchpoints.map((t) => [t.kind, t.channel]),
    ).toEqual([
      ['session', 'Podcast'],
      ['event', 'Podcast'],
    ]);
  });

  it('context.campaign (analytics.js) is read like UTM parameters', () => {
    const e = page(T0, '/', '', { campaign: { source: 'criteo', medium: 'retargeting', name: 'cart' } });
    // Changed with issue 13 (was Paid Other, GA4's answer, which the ga4 rule set still gives):
    // the journey rule set files retargeting under its own channel, on any network.
    expect(buildJourney([e], config).touchpoints[0]).toMatchObject({
      channel: 'Retargeting',
      campaign: 'cart',
    });
  });

  it('a referrer from the own site is no arrival, even at a session start; configured own domains too', () => {
    // Changed with issue 13 (was: a Direct touchpoint, as GA4 files such a session under
    // (direct)). The person was already on the site (a tab left open past the session timeout):
    // nothing brought them, so there is no touchpoint and the session has no entry channel.
    const j = buildJourney([page(T0, '/docs', `${SITE}/`)], config);
    expect(j.touchpoints).toEqual([]);
    expect(j.sessions.map((s) => [s.eventCount, s.channel])).toEqual([[1, null]]);
    const crossDomain = { ...config, touch: { ownDomains: ['acme-shop.example'], ignoreReferrers: [] } };
    expect(buildJourney([page(T0, '/', 'https://acme-shop.example/cart')], crossDomain).touchpoints).toEqual(
      [],
    );
    expect(
      buildJourney([page(T0, '/', 'https://acme-shop.example/cart')], config).touchpoints[0]?.channel,
    ).toBe('Referral');
  });
});

describe('bots', () => {
  const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
  it('bot user agents are flagged and left out unless included', () => {
    const bot = ev(T0 + MIN, 'page', {
      context: { userAgent: googlebot, page: { url: `${SITE}/`, referrer: '' } },
    });
    const events = [page(T0, '/'), bot];
    const j = buildJourney(events, config);
    expect(j.botEvents).toBe(1);
    expect(j.steps).toHaveLength(1);
    const all = buildJourney(events, { ...config, includeBots: true });
    expect(all.steps.map((s) => s.bot)).toEqual([null, 'user_agent']);
  });

  it('an impossible view rate marks the visitor as a bot', () => {
    const events = Array.from({ length: 60 }, (_, i) => page(T0 + i * 500, `/p${i}`));
    const j = buildJourney(events, config);
    expect(j.bot).toBe('event_rate');
    expect(j.steps).toEqual([]);
    expect(buildJourney(events.slice(0, 30), config).bot).toBeNull();
  });
});

describe('lifecycle stages', () => {
  it('skip, regress on a lost deal, win back after churn', () => {
    const events = [
      serverTrack(T0, 'Deal Created'),
      serverTrack(T0 + DAY, 'Deal Closed Lost'),
      serverTrack(T0 + 30 * DAY, 'Deal Closed Won'),
      serverTrack(T0 + 400 * DAY, 'Subscription Cancelled'),
      serverTrack(T0 + 500 * DAY, 'Subscription Started'),
    ];
    const j = buildJourney(events, config);
    expect(j.stages.map((s) => s.stage)).toEqual(['opportunity', 'lead', 'customer', 'churned', 'customer']);
  });

  it('a customer browsing again is not demoted; NPS 9 makes an advocate, NPS 6 does not', () => {
    const base = [serverTrack(T0, 'Order Completed'), page(T0 + DAY, '/blog'), page(T0 + 5 * DAY, '/blog')];
    const detractor = serverTrack(T0 + 6 * DAY, 'Survey Responded', { survey: 'NPS', score: 6 });
    const promoter = serverTrack(T0 + 7 * DAY, 'Survey Responded', { survey: 'NPS', score: 9 });
    expect(buildJourney([...base, detractor], config).stage).toBe('customer');
    expect(buildJourney([...base, detractor, promoter], config).stages.map((s) => s.stage)).toEqual([
      'customer',
      'advocate',
    ]);
  });

  it('inactivity churns a customer, as of a given time', () => {
    const events = [serverTrack(T0, 'Order Completed')];
    expect(buildJourney(events, config, T0 + 100 * DAY).stage).toBe('customer');
    const j = buildJourney(events, config, T0 + 200 * DAY);
    expect(j.stages.at(-1)).toMatchObject({
      stage: 'churned',
      enteredAt: T0 + 180 * DAY,
      trigger: { kind: 'inactivity', days: 180 },
    });
    // Activity after the lapse brings the churn into history at the lapse time, then a win-back.
    const back = buildJourney([...events, serverTrack(T0 + 300 * DAY, 'Subscription Renewed')], config);
    expect(back.stages.map((s) => [s.stage, s.enteredAt - T0])).toEqual([
      ['customer', 0],
      ['churned', 180 * DAY],
      ['customer', 300 * DAY],
    ]);
  });

  it('traits at the time of the event can drive a stage', () => {
    const model = CompiledStageModel.compile({
      stages: [
        {
          id: 'lead',
          name: 'Lead',
          enter: [{ when: { field: 'traits.lifecycle', op: 'eq', value: 'mql' } }],
        },
        {
          id: 'sql',
          name: 'SQL',
          enter: [
            {
              when: {
                all: [
                  { field: 'event', op: 'eq', value: 'Call Completed' },
                  { field: 'traits.plan', op: 'eq', value: 'enterprise' },
                ],
              },
            },
          ],
        },
      ],
    });
    const c = journeyConfig(config.channels, model);
    const events = [
      ev(T0, 'identify', { traits: { plan: 'enterprise' } }),
      serverTrack(T0 + DAY, 'Call Completed'),
    ];
    expect(buildJourney(events, c).stages.map((s) => s.stage)).toEqual(['sql']);
  });

  it('ecommerce: customer, repeat customer, lapsed, back', () => {
    const c = journeyConfig(config.channels, CompiledStageModel.compile(ECOMMERCE_STAGES));
    const events = [
      page(T0, '/products/1', 'https://www.instagram.com/'),
      browserTrack(T0 + MIN, 'Order Completed'),
      serverTrack(T0 + 20 * DAY, 'Order Completed'),
      serverTrack(T0 + 400 * DAY, 'Order Completed'),
    ];
    expect(buildJourney(events, c).stages.map((s) => s.stage)).toEqual([
      'awareness',
      'customer',
      'repeat_customer',
      'lapsed',
      'repeat_customer',
    ]);
  });

  it('rejects a model naming an unknown stage, with the path', () => {
    expect(() =>
      CompiledStageModel.compile({
        stages: [{ id: 'a', name: 'A', enter: [{ when: { else: true }, from: ['nope'] }] }],
      }),
    ).toThrow(/unknown stage "nope"/);
  });
});

describe('incremental equals full recompute', () => {
  const pool = (): JourneyEvent[] => {
    seq = 0;
    return [
      page(T0, '/blog', 'https://www.google.com/'),
      page(T0 + MIN, '/pricing', `${SITE}/blog`),
      page(T0 + 2 * DAY, '/?utm_source=hubspot&utm_medium=email&utm_campaign=x'),
      page(T0 + 2 * DAY + MIN, '/docs', ''),
      browserTrack(T0 + 2 * DAY + 2 * MIN, 'Signed Up'),
      serverTrack(T0 + 3 * DAY, 'Webinar Attended'),
      serverTrack(T0 + 5 * DAY, 'Demo Requested'),
      serverTrack(T0 + 6 * DAY, 'Deal Closed Lost'),
      serverTrack(T0 + 9 * DAY, 'Deal Closed Won'),
      serverTrack(T0 + 10 * DAY, 'Onboarding Completed'),
      page(T0 + 10 * DAY, '/podcast'),
      serverTrack(T0 + 300 * DAY, 'Subscription Cancelled'),
      serverTrack(T0 + 301 * DAY, 'Survey Responded', { survey: 'NPS', score: 10 }),
      serverTrack(T0 + 500 * DAY, 'Subscription Renewed'),
    ];
  };

  it('for any arrival order (and repeats), the journey is the same', () => {
    const events = pool();
    const full = buildJourney(events, config, T0 + 1000 * DAY);
    fc.assert(
      fc.property(
        fc.shuffledSubarray(events, { minLength: events.length }),
        fc.array(fc.nat(events.length - 1), { maxLength: 3 }),
        (order, repeats) => {
          const b = new JourneyBuilder(config);
          for (const e of order) b.add(e);
          for (const r of repeats) b.add(events[r] as JourneyEvent);
          expect(b.journey(T0 + 1000 * DAY)).toEqual(full);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a late earlier event corrects the history', () => {
    seq = 100;
    const b = new JourneyBuilder(config);
    b.add(serverTrack(T0 + 10 * DAY, 'Deal Closed Won'));
    expect(b.journey().stages.map((s) => s.stage)).toEqual(['customer']);
    const opened = b.add(serverTrack(T0, 'Demo Requested'));
    expect(opened?.stage).toBe('opportunity');
    expect(b.journey().stages.map((s) => [s.stage, s.exitedAt])).toEqual([
      ['opportunity', T0 + 10 * DAY],
      ['customer', null],
    ]);
  });
});
