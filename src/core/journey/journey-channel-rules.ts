import type { ChannelRule } from './channel-rules.js';
import { f, GA4_CHANNEL_RULES } from './ga4-channel-rules.js';

/**
 * Channels a journey platform needs beyond the web, tried before GA4's rules. Event rules
 * make offline and in-app interactions touchpoints; arrival rules catch campaign mediums GA4
 * would leave Unassigned. Workspaces extend these (their own vanity paths, promo codes).
 */
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
    channel: 'Events & Webinars',
    scope: 'event',
    when: f('event', 'in', [
      'Webinar Registered',
      'Webinar Attended',
      'Event Registered',
      'Event Attended',
      'Booth Visited',
    ]),
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
    channel: 'Podcast',
    scope: 'event',
    note: 'self-reported ("how did you hear about us") or a podcast promo code',
    when: { any: [f('self_reported', 'contains', 'podcast'), f('promo_code', 'contains', 'pod')] },
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
    channel: 'Events & Webinars',
    when: f('medium', 'in', ['webinar', 'event', 'events', 'conference', 'tradeshow', 'trade-show']),
  },
  { channel: 'Partner', when: f('medium', 'in', ['partner', 'partners', 'reseller', 'co-marketing']) },
  { channel: 'Product', when: f('medium', 'in', ['in-app', 'in-product', 'product', 'app-banner']) },
  { channel: 'Sales', when: f('medium', 'in', ['sales', 'outbound', 'sequence']) },
  ...GA4_CHANNEL_RULES,
];
