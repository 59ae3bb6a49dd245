import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../spec/message.js';
import { journeyEventOf } from './journey-event.js';
import {
  eventFactsOf,
  messageField,
  RULE_FIELDS,
  touchFieldAccessor,
  touchFieldsOf,
  touchJsonPaths,
} from './touch-fields.js';

const stored = (over: Partial<StoredEvent>): StoredEvent => ({
  workspaceId: 'w',
  seq: 1,
  messageId: 'm',
  type: 'page',
  event: null,
  name: null,
  userId: null,
  anonymousId: 'a',
  groupId: null,
  previousId: null,
  timestamp: 1_700_000_000_000,
  originalTimestamp: null,
  sentAt: null,
  receivedAt: 1_700_000_000_000,
  ip: null,
  properties: null,
  traits: null,
  context: null,
  integrations: null,
  extra: null,
  fingerprint: 'f',
  ...over,
});

describe('the one list of inputs and fields', () => {
  it('gives the journey scan the JSON paths it always kept', () => {
    const paths = touchJsonPaths();
    expect(new Set(paths.context)).toEqual(
      new Set([
        'userAgent',
        'page.url',
        'page.search',
        'page.referrer',
        'page.path',
        'referrer.url',
        'referrer.link',
        'campaign.source',
        'campaign.medium',
        'campaign.name',
        'campaign.content',
        'campaign.term',
      ]),
    );
    expect(new Set(paths.properties)).toEqual(
      new Set([
        'url',
        'search',
        'referrer',
        'path',
        ...['gclid', 'gbraid', 'wbraid', 'dclid', 'fbclid', 'msclkid', 'li_fat_id', 'ttclid', 'twclid'],
        ...['how_did_you_hear', 'heard_about_us', 'hdyhau', 'attribution_source', 'referral_source'],
        ...['promo_code', 'coupon', 'discount_code', 'voucher'],
      ]),
    );
    expect(new Set(paths.traits)).toEqual(
      new Set(['how_did_you_hear', 'heard_about_us', 'hdyhau', 'attribution_source', 'referral_source']),
    );
    // Every path appears once.
    for (const list of Object.values(paths)) expect(new Set(list).size).toBe(list.length);
  });

  it('the accessor answers every rule field from the touch fields', () => {
    const e = journeyEventOf(
      stored({
        context: JSON.stringify({
          page: {
            url: 'https://a.example/p?utm_source=s&utm_medium=m&utm_campaign=c&utm_content=x&utm_term=t&gclid=g&gad_source=1',
          },
        }),
        properties: JSON.stringify({ how_did_you_hear: 'pod', promo_code: 'P1' }),
      }),
    );
    const fields = touchFieldAccessor(e, touchFieldsOf(e));
    const values = Object.fromEntries(RULE_FIELDS.map((f) => [f, fields(f)]));
    expect(values).toMatchObject({
      source: 's',
      medium: 'm',
      campaign: 'c',
      content: 'x',
      term: 't',
      utm_source: 's',
      landing_url: expect.stringContaining('https://a.example/p?'),
      landing_path: '/p',
      gclid: 'g',
      gad_source: '1',
      self_reported: 'pod',
      promo_code: 'P1',
      arrival: 'campaign',
      referring_domain: '$direct',
      type: 'page',
    });
  });

  it('message fields read the event’s own keys only', () => {
    const e = journeyEventOf(stored({ properties: JSON.stringify({ plan: 'pro', list: [1], n: { a: 2 } }) }));
    expect(messageField(e, 'properties.plan')).toBe('pro');
    expect(messageField(e, 'properties.n.a')).toBe(2);
    expect(messageField(e, 'properties.constructor')).toBeNull();
    expect(messageField(e, 'properties.plan.length')).toBeNull();
    expect(messageField(e, 'properties.list.0')).toBeNull();
    expect(messageField(e, 'properties.toString')).toBeNull();
  });
});

describe('event facts', () => {
  it('hold the user-agent class, interactivity, revenue and the touch facts', () => {
    const bot = eventFactsOf(
      stored({
        type: 'track',
        event: 'Order Completed',
        context: JSON.stringify({ userAgent: 'Googlebot/2.1' }),
        properties: '{"total":"12.5"}',
      }),
    );
    expect(bot).toMatchObject({
      isBot: true,
      interactive: true,
      revenue: 12.5,
      event: 'Order Completed',
      hasPage: false,
    });
    const server = eventFactsOf(
      stored({ type: 'track', event: 'Order Refunded', properties: '{"total":30}' }),
    );
    expect(server).toMatchObject({ isBot: false, interactive: false, revenue: -30, userAgent: null });
    const view = eventFactsOf(
      stored({
        name: 'Home',
        context: JSON.stringify({
          page: { url: 'https://WWW.Shop.example/a?fbclid=f&gclid=g', referrer: 'google.com' },
        }),
      }),
    );
    expect(view).toMatchObject({
      event: 'Home',
      interactive: true,
      hasPage: true,
      pageHost: 'www.shop.example',
      pagePath: '/a',
      referrerHost: 'google.com',
      clickId: 'gclid',
      clickIds: { gclid: 'g', fbclid: 'f' },
    });
  });
});
