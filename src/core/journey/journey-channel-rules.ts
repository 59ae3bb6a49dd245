import type { ChannelRule } from './channel-rules.js';
import { f, GA4_CHANNEL_RULES } from './ga4-channel-rules.js';

/**
 * Channels a journey platform needs beyond the web, tried before GA4's rules. Event rules
 * make offline and in-app contacts touchpoints; arrival rules catch campaign conventions GA4
 * would file elsewhere or leave Unassigned. Workspaces extend these (their own vanity paths,
 * promo codes).
 *
 * What the person reports ("how did you hear about us", a promo code) is not a contact and makes
 * no touchpoint here: the journey lists it as `reported`. A workspace that wants it as a
 * touchpoint adds an event rule on `self_reported` or `promo_code`.
 */

/** Webinar platforms, as utm_source or the referring host (`event.on24.com`). */
const WEBINAR_PLATFORMS =
  '^(.*\\.)?(on24|livestorm|bigmarker|gotowebinar|webinarjam|demio|webinargeek)(\\..*)?$';
/** Apple Search Ads as mobile measurement partners name it (AppsFlyer, Adjust, Branch, Singular). */
const APPLE_SEARCH_ADS = '^(apple[ _-]?search[ _-]?ads|asa|apple_search)$';
const SOCIAL_NETWORKS = '^.*(facebook|instagram|meta|tiktok|snapchat|twitter|linkedin|pinterest|reddit).*$';
const installAttributed = f('event', 'eq', 'Install Attributed');
const installSource = 'properties.campaign.source';

export const JOURNEY_CHANNEL_RULES: ChannelRule[] = [
  {
    channel: 'Sales',
    scope: 'event',
    note: 'calls, meetings and sequence emails from the CRM',
    when: f('event', 'in', [
      'Sales Call Completed',
      'Sales Email Sent',
      'Sales Meeting Held',
      'Meeting Held',
      'Call Completed',
      'Sequence Email Sent',
    ]),
  },
  {
    channel: 'Webinar',
    scope: 'event',
    when: f('event', 'in', ['Webinar Registered', 'Webinar Attended']),
  },
  {
    channel: 'Events',
    scope: 'event',
    note: 'conferences, trade shows, meetups: registrations, attendance, badge scans',
    when: f('event', 'in', ['Event Registered', 'Event Attended', 'Booth Visited']),
  },
  {
    channel: 'Support',
    scope: 'event',
    when: f('event', 'in', ['Ticket Created', 'Chat Started', 'Support Call Completed']),
  },
  {
    channel: 'Product',
    scope: 'event',
    note: 'in-app messages and tours',
    when: f('event', 'in', ['In-App Message Clicked', 'In-App Message Viewed', 'Product Tour Started']),
  },
  {
    channel: 'Mobile Push Notifications',
    scope: 'event',
    note: 'a push notification opened (Segment mobile spec: Push Notification Tapped)',
    when: f('event', 'in', ['Push Notification Tapped', 'Push Notification Opened']),
  },
  {
    channel: 'App Store Search',
    scope: 'event',
    note: 'an install the measurement partner attributes to Apple Search Ads',
    when: { all: [installAttributed, f(installSource, 'regex', APPLE_SEARCH_ADS)] },
  },
  {
    channel: 'Paid Social',
    scope: 'event',
    note: 'an install attributed to a social network',
    when: { all: [installAttributed, f(installSource, 'regex', SOCIAL_NETWORKS)] },
  },
  {
    channel: 'Paid Other',
    scope: 'event',
    note: 'an install attributed to another ad network (an organic install is no touch)',
    when: {
      all: [installAttributed, f(installSource, 'present'), f(installSource, 'neq', 'organic')],
    },
  },
  {
    channel: 'Podcast',
    note: 'podcast campaigns and the vanity URL read on air',
    when: {
      any: [
        f('medium', 'in', ['podcast', 'podcasts']),
        f('source', 'contains', 'podcast'),
        f('landing_path', 'starts_with', '/podcast'),
      ],
    },
  },
  {
    channel: 'Webinar',
    note: 'webinar campaigns, and visits from a webinar platform',
    when: { any: [f('medium', 'in', ['webinar', 'webinars']), f('source', 'regex', WEBINAR_PLATFORMS)] },
  },
  {
    channel: 'Events',
    note: 'booth QR codes and event follow-ups tagged as such',
    when: f('medium', 'in', [
      'event',
      'events',
      'conference',
      'tradeshow',
      'trade-show',
      'trade_show',
      'booth',
      'field-event',
    ]),
  },
  { channel: 'Partner', when: f('medium', 'in', ['partner', 'partners', 'reseller', 'co-marketing']) },
  { channel: 'Product', when: f('medium', 'in', ['in-app', 'in-product', 'product', 'app-banner']) },
  {
    channel: 'Sales',
    note: 'links in sales outreach sequences',
    when: {
      any: [
        f('medium', 'in', ['sales', 'outbound', 'sequence', 'outreach']),
        f('source', 'in', ['outreach', 'salesloft', 'apollo']),
      ],
    },
  },
  {
    channel: 'Retargeting',
    note: 'ads to past visitors, on any network (GA4 would file them under Paid Social or Paid Other)',
    when: f('medium', 'in', ['retargeting', 'remarketing', 'retarget', 're-targeting', 're-marketing']),
  },
  {
    channel: 'Influencer',
    note: 'creator sponsorships (GA4 would file them under Organic Video or Social)',
    when: f('medium', 'in', ['influencer', 'influencers', 'creator', 'creators']),
  },
  {
    channel: 'Referral',
    note: 'invite links of referral programmes: shared in messaging apps, they arrive without a referrer',
    when: {
      all: [
        f('arrival', 'eq', 'direct'),
        f('landing_url', 'regex', '[?&](ref|referral|referral_code|invite|invite_code)=[^&#]'),
      ],
    },
  },
  ...GA4_CHANNEL_RULES,
];
