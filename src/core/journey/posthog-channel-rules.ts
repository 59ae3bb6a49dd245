import type { ChannelRule } from './channel-rules.js';
import type { Condition } from './conditions.js';
import { f, PAID, SHOP } from './ga4-channel-rules.js';

/**
 * PostHog's channel type, flattened into first-match rules. PostHog evaluates a cascade
 * ("first non-null of: paid source type, shop campaign, paid medium type, paid referrer type…");
 * each step becomes one rule guarded by the branch condition. It reads the raw utm_* values and
 * the referring domain (`$direct` when there was none), plus gclid, fbclid and gad_source.
 * Labels are PostHog's (`Cross Network`, `Paid Unknown`, `Unknown`, `Push`).
 */

const CATEGORIES = [
  ['SOURCE_CATEGORY_SHOPPING', 'Shopping'],
  ['SOURCE_CATEGORY_SEARCH', 'Search'],
  ['SOURCE_CATEGORY_SOCIAL', 'Social'],
  ['SOURCE_CATEGORY_VIDEO', 'Video'],
] as const;

const paid: Condition = {
  any: [f('utm_medium', 'regex', PAID), f('gclid', 'present'), f('gad_source', 'present')],
};
const organic: Condition = { not: paid };
const within = (branch: Condition, c: Condition): Condition => ({ all: [branch, c] });

const bySource = (branch: Condition, kind: 'Paid' | 'Organic', field: string): ChannelRule[] =>
  CATEGORIES.map(([category, label]) => ({
    channel: `${kind} ${label}`,
    when: within(branch, f(field, 'in_category', category)),
  }));

const PAID_MEDIUMS: [string, string[]][] = [
  ['Display', ['display', 'banner', 'expandable', 'interstitial', 'cpm']],
  ['Paid Social', ['paid_social', 'paidsocial', 'paid-social', 'social', 'social_paid']],
  ['Paid Video', ['paid_video', 'cpv', 'video']],
  ['Paid Search', ['paid_search', 'paidsearch', 'paid-search', 'search']],
  ['Paid Shopping', ['paid_shopping', 'shopping']],
];
const ORGANIC_MEDIUMS: [string, string[]][] = [
  ['Email', ['email', 'e-mail', 'e_mail', 'e mail', 'newsletter']],
  ['Affiliate', ['affiliate', 'affiliates']],
  ['Referral', ['referral', 'app', 'link']],
  ['Organic Social', ['social', 'social-network', 'social-media', 'sm', 'social network', 'social media']],
  ['Organic Video', ['video']],
  ['Organic Search', ['organic']],
  ['SMS', ['sms']],
  ['Audio', ['audio']],
  ['Push', ['push', 'mobile', 'notification', 'mobile-notification']],
];
const byMedium = (branch: Condition, table: [string, string[]][]): ChannelRule[] =>
  table.map(([channel, mediums]) => ({ channel, when: within(branch, f('utm_medium', 'in', mediums)) }));

export const POSTHOG_CHANNEL_RULES: ChannelRule[] = [
  { channel: 'Cross Network', when: f('utm_campaign', 'regex', 'cross-network') },
  // Paid branch.
  ...bySource(paid, 'Paid', 'utm_source'),
  { channel: 'Paid Shopping', when: within(paid, f('utm_campaign', 'regex', SHOP)) },
  ...byMedium(paid, PAID_MEDIUMS),
  ...bySource(paid, 'Paid', 'referring_domain'),
  { channel: 'Paid Search', when: within(paid, f('gad_source', 'eq', '1')) },
  { channel: 'Paid Video', when: within(paid, f('utm_campaign', 'regex', '^(.*video.*)$')) },
  { channel: 'Paid Social', when: within(paid, f('fbclid', 'present')) },
  { channel: 'Paid Unknown', when: paid },
  // Direct: no referrer, no medium, no real source, and no Meta click id.
  {
    channel: 'Direct',
    when: {
      all: [
        f('referring_domain', 'eq', '$direct'),
        f('utm_medium', 'absent'),
        { any: [f('utm_source', 'absent'), f('utm_source', 'in', ['(direct)', 'direct', '$direct'])] },
        f('fbclid', 'absent'),
      ],
    },
  },
  // Organic branch.
  ...bySource(organic, 'Organic', 'utm_source'),
  { channel: 'Organic Shopping', when: f('utm_campaign', 'regex', SHOP) },
  ...byMedium(organic, ORGANIC_MEDIUMS),
  ...bySource(organic, 'Organic', 'referring_domain'),
  { channel: 'Organic Video', when: f('utm_campaign', 'regex', '^(.*video.*)$') },
  { channel: 'Push', when: f('utm_medium', 'regex', 'push$') },
  { channel: 'Organic Social', when: f('fbclid', 'present') },
  { channel: 'Direct', when: f('referring_domain', 'eq', '$direct') },
  { channel: 'Referral', when: f('referring_domain', 'present') },
  { channel: 'Unknown', when: { else: true } },
];
