import type { ChannelRule } from './channel-rules.js';
import type { Condition } from './conditions.js';

/**
 * Google Analytics 4's default channel group (manual traffic rules), top to bottom.
 * Fields are GA4's: `source` and `medium` as GA4 derives them (utm, else from the referrer or
 * an auto-tagged click id, else `(direct)` / `(none)`), `campaign` the utm_campaign.
 */

export const PAID = '^(.*cp.*|ppc|retargeting|paid.*)$';
export const SHOP = '^(.*(([^a-df-z]|^)shop|shopping).*)$';
const EMAIL = ['email', 'e-mail', 'e_mail', 'e mail'];

export const f = (
  field: string,
  op: Extract<Condition, { field: string }>['op'],
  value?: string | string[],
): Condition => (value === undefined ? { field, op } : { field, op, value });
const paidMedium = f('medium', 'regex', PAID);

export const GA4_CHANNEL_RULES: ChannelRule[] = [
  {
    channel: 'Direct',
    when: { all: [f('source', 'eq', '(direct)'), f('medium', 'in', ['(not set)', '(none)'])] },
  },
  { channel: 'Cross-network', when: f('campaign', 'contains', 'cross-network') },
  {
    channel: 'Paid Shopping',
    when: {
      all: [
        { any: [f('source', 'in_category', 'SOURCE_CATEGORY_SHOPPING'), f('campaign', 'regex', SHOP)] },
        paidMedium,
      ],
    },
  },
  {
    channel: 'Paid Search',
    when: { all: [f('source', 'in_category', 'SOURCE_CATEGORY_SEARCH'), paidMedium] },
  },
  {
    channel: 'Paid Social',
    when: { all: [f('source', 'in_category', 'SOURCE_CATEGORY_SOCIAL'), paidMedium] },
  },
  { channel: 'Paid Video', when: { all: [f('source', 'in_category', 'SOURCE_CATEGORY_VIDEO'), paidMedium] } },
  { channel: 'Display', when: f('medium', 'in', ['display', 'banner', 'expandable', 'interstitial', 'cpm']) },
  { channel: 'Paid Other', when: paidMedium },
  {
    channel: 'Organic Shopping',
    when: { any: [f('source', 'in_category', 'SOURCE_CATEGORY_SHOPPING'), f('campaign', 'regex', SHOP)] },
  },
  {
    channel: 'Organic Social',
    when: {
      any: [
        f('source', 'in_category', 'SOURCE_CATEGORY_SOCIAL'),
        f('medium', 'in', [
          'social',
          'social-network',
          'social-media',
          'sm',
          'social network',
          'social media',
        ]),
      ],
    },
  },
  {
    channel: 'Organic Video',
    when: {
      any: [f('source', 'in_category', 'SOURCE_CATEGORY_VIDEO'), f('medium', 'regex', '^(.*video.*)$')],
    },
  },
  {
    channel: 'Organic Search',
    when: { any: [f('source', 'in_category', 'SOURCE_CATEGORY_SEARCH'), f('medium', 'eq', 'organic')] },
  },
  { channel: 'Referral', when: f('medium', 'in', ['referral', 'app', 'link']) },
  { channel: 'Email', when: { any: [f('source', 'in', EMAIL), f('medium', 'in', EMAIL)] } },
  { channel: 'Affiliates', when: f('medium', 'eq', 'affiliate') },
  { channel: 'Audio', when: f('medium', 'eq', 'audio') },
  { channel: 'SMS', when: { any: [f('source', 'eq', 'sms'), f('medium', 'eq', 'sms')] } },
  {
    channel: 'Mobile Push Notifications',
    when: {
      any: [
        f('medium', 'ends_with', 'push'),
        f('medium', 'contains', 'mobile'),
        f('medium', 'contains', 'notification'),
        f('source', 'eq', 'firebase'),
      ],
    },
  },
  { channel: 'Unassigned', when: { else: true } },
];
