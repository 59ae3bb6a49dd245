import { describe, expect, it } from 'vitest';
import examples from './channel-examples.json' with { type: 'json' };
import { ChannelRules } from './channel-rules.js';
import { RuleError } from './conditions.js';
import { textOf } from './journey-event.js';
import { BASE_RULES, compileChannelSettings } from './rulesets.js';

type Example = (typeof examples.examples)[number] & { extra?: Record<string, string> };

/** The fields a reference row gives, as each rule set reads them ('' and 'null' are missing). */
function fieldsOf(row: Example) {
  const values: Record<string, string | null> =
    row.ruleset === 'ga4'
      ? { source: row.source, medium: row.medium, campaign: row.campaign }
      : {
          utm_source: textOf(row.source),
          utm_medium: textOf(row.medium),
          utm_campaign: textOf(row.campaign),
          referring_domain: textOf(row.referrer),
          gclid: textOf(row.extra?.gclid),
          fbclid: textOf(row.extra?.fbclid),
          gad_source: textOf(row.extra?.gad_source),
        };
  return (field: string) => values[field] ?? null;
}

describe('reference examples (channel-rules.json)', () => {
  const ga4 = ChannelRules.compile(BASE_RULES.ga4);
  const posthog = ChannelRules.compile(BASE_RULES.posthog);
  for (const row of examples.examples as Example[]) {
    const label = `${row.ruleset}: source=${row.source} medium=${row.medium} campaign=${row.campaign} referrer=${row.referrer} ${JSON.stringify(row.extra ?? {})} → ${row.expected}`;
    it(label, () => {
      const rules = row.ruleset === 'ga4' ? ga4 : posthog;
      expect(rules.classify(fieldsOf(row as Example), true)?.channel).toBe(row.expected);
    });
  }
  it('covers both rule sets', () => {
    const sets = new Set(examples.examples.map((e) => e.ruleset));
    expect([...sets].sort()).toEqual(['ga4', 'posthog']);
    expect(examples.examples).toHaveLength(30);
  });
});

describe('GA4 rules beyond the examples', () => {
  const ga4 = ChannelRules.compile(BASE_RULES.ga4);
  const classify = (source: string, medium: string, campaign: string | null = null) => {
    const v: Record<string, string | null> = { source, medium, campaign };
    return ga4.classify((f) => v[f] ?? null, true)?.channel;
  };
  it.each([
    ['(direct)', '(none)', null, 'Direct'],
    ['google', 'cpc', 'summer cross-network push', 'Cross-network'],
    ['google', 'cpc', null, 'Paid Search'],
    ['www.google.co.uk', 'ppc', null, 'Paid Search'],
    ['amazon', 'paid', null, 'Paid Shopping'],
    ['newsletter', 'cpc', 'spring-shop', 'Paid Shopping'],
    ['criteo', 'retargeting', null, 'Paid Other'],
    ['some-site', 'banner', null, 'Display'],
    ['l.instagram.com', 'referral', null, 'Organic Social'],
    ['duckduckgo', 'organic', null, 'Organic Search'],
    ['partner.example', 'referral', null, 'Referral'],
    ['newsletter', 'EMAIL', null, 'Email'],
    ['podcastnet', 'audio', null, 'Audio'],
    ['sms', '(none)', null, 'SMS'],
    ['firebase', '(none)', null, 'Mobile Push Notifications'],
    ['mystery', 'carrier-pigeon', null, 'Unassigned'],
  ])('%s / %s / %s → %s', (source, medium, campaign, expected) => {
    expect(classify(source, medium, campaign)).toBe(expected);
  });
});

describe('journey rules beyond GA4 (issue 13: channels the simulator names, from real conventions)', () => {
  const journey = ChannelRules.compile(BASE_RULES.journey);
  const arrival = (v: Record<string, string>) => journey.classify((f) => v[f] ?? null, true)?.channel;
  const event = (v: Record<string, string>) => journey.classify((f) => v[f] ?? null, false)?.channel ?? null;

  it.each([
    [{ source: 'criteo', medium: 'retargeting', arrival: 'campaign' }, 'Retargeting'],
    [{ source: 'facebook', medium: 'remarketing', arrival: 'campaign' }, 'Retargeting'],
    [{ source: 'youtube', medium: 'influencer', arrival: 'campaign' }, 'Influencer'],
    [{ source: 'on24', medium: 'email', arrival: 'campaign' }, 'Webinar'],
    [{ source: 'event.on24.com', medium: 'referral', arrival: 'referral' }, 'Webinar'],
    [{ source: 'google', medium: 'webinar', arrival: 'campaign' }, 'Webinar'],
    [{ source: 'saastr', medium: 'booth', arrival: 'campaign' }, 'Events'],
    [{ source: 'outreach', medium: 'email', arrival: 'campaign' }, 'Sales'],
    [{ source: 'hubspot', medium: 'email', arrival: 'campaign' }, 'Email'],
    [
      {
        source: '(direct)',
        medium: '(none)',
        arrival: 'direct',
        landing_url: 'https://habitly.example/invite?ref=k2j4',
      },
      'Referral',
    ],
    // A ref parameter on a tagged or referred visit leaves it to its campaign or referrer.
    [
      {
        source: 'facebook',
        medium: 'paid_social',
        arrival: 'campaign',
        landing_url: 'https://habitly.example/?ref=x',
      },
      'Paid Social',
    ],
    [
      {
        source: '(direct)',
        medium: '(none)',
        arrival: 'direct',
        landing_url: 'https://habitly.example/?preference=dark',
      },
      'Direct',
    ],
  ])('arrival %j → %s', (fields, expected) => {
    expect(arrival(fields)).toBe(expected);
  });

  it.each([
    [{ event: 'Push Notification Tapped' }, 'Mobile Push Notifications'],
    [{ event: 'Push Notification Opened' }, 'Mobile Push Notifications'],
    [{ event: 'Push Notification Received' }, null],
    [{ event: 'Webinar Attended' }, 'Webinar'],
    [{ event: 'Event Attended' }, 'Events'],
    [{ event: 'Install Attributed', 'properties.campaign.source': 'Apple Search Ads' }, 'App Store Search'],
    [{ event: 'Install Attributed', 'properties.campaign.source': 'apple_search_ads' }, 'App Store Search'],
    [{ event: 'Install Attributed', 'properties.campaign.source': 'Facebook Ads' }, 'Paid Social'],
    [{ event: 'Install Attributed', 'properties.campaign.source': 'googleadwords_int' }, 'Paid Other'],
    [{ event: 'Install Attributed', 'properties.campaign.source': 'Organic' }, null],
    [{ event: 'Install Attributed' }, null],
    // What a person reports is evidence of an earlier contact, not one (the journey's `reported`).
    [{ event: 'Signed Up', self_reported: 'Podcast' }, null],
    [{ event: 'Order Completed', promo_code: 'PODCAST20' }, null],
  ])('event %j → %s', (fields, expected) => {
    expect(event(fields)).toBe(expected);
  });
});

describe('workspace rules', () => {
  it('come first and override the base rule set', () => {
    const rules = compileChannelSettings({
      ruleset: 'journey',
      rules: [
        {
          channel: 'Paid Search (brand)',
          when: {
            all: [
              { field: 'medium', op: 'eq', value: 'cpc' },
              { field: 'campaign', op: 'starts_with', value: 'brand' },
            ],
          },
        },
      ],
    });
    const v: Record<string, string> = { source: 'google', medium: 'cpc', campaign: 'brand-us' };
    expect(rules.classify((f) => v[f] ?? null, true)?.channel).toBe('Paid Search (brand)');
    v.campaign = 'generic';
    expect(rules.classify((f) => v[f] ?? null, true)?.channel).toBe('Paid Search');
  });

  it('reject a bad regex or a missing value, naming the rule', () => {
    expect(() =>
      ChannelRules.compile([{ channel: 'X', when: { field: 'medium', op: 'regex', value: '(' } }]),
    ).toThrow(/rules\[0\]\.when: invalid regex/);
    expect(() =>
      ChannelRules.compile([{ channel: 'X', when: { any: [{ field: 'medium', op: 'in', value: 'cpc' }] } }]),
    ).toThrow(RuleError);
  });

  it('event rules make non-arrival events touchpoints; arrival rules do not', () => {
    const rules = ChannelRules.compile(BASE_RULES.journey);
    const v: Record<string, string> = { event: 'Sales Meeting Held' };
    expect(rules.classify((f) => v[f] ?? null, false)?.channel).toBe('Sales');
    v.event = 'Order Completed';
    expect(rules.classify((f) => v[f] ?? null, false)).toBeNull();
  });
});
