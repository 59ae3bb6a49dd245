import type { JsonObject } from '../core/spec/message.js';
import { FIRST_NAMES, LAST_NAMES, SEARCH_TERMS } from './catalog.js';
import type { Random } from './random.js';
import type { Realism } from './sim-config.js';
import { type Action, type Device, newDevice, type Person } from './world.js';

export const DAY = 86_400_000;

/** How a web touch of a channel arrives: landing URL parameters, referrer, campaign. */
export interface Landing {
  path: string;
  query: [string, string][];
  referrer: string | null;
}

const utm = (
  source: string,
  medium: string,
  campaign: string,
  extra: [string, string][] = [],
): [string, string][] => [
  ['utm_source', source],
  ['utm_medium', medium],
  ['utm_campaign', campaign],
  ...extra,
];

/**
 * The web face of each channel, as the GA4 / PostHog channel rules see it
 * (reference/channel-rules.json). Channels absent here have no web face.
 */
export function landingFor(channel: string, rng: Random, b2b: boolean): Landing | null {
  const search = rng.weighted([
    ['https://www.google.com/', 8],
    ['https://www.bing.com/', 1],
    ['https://duckduckgo.com/', 1],
  ] as const);
  switch (channel) {
    case 'Paid Search':
      return {
        path: rng.pick(['/', '/pricing', '/product']),
        query: utm('google', 'cpc', rng.pick(['brand', 'nonbrand-core', 'competitor']), [
          ['utm_term', rng.pick(SEARCH_TERMS)],
          ['gclid', rng.token(24)],
        ]),
        referrer: 'https://www.google.com/',
      };
    case 'Paid Shopping':
      return {
        path: `/products/${rng.int(100, 999)}`,
        query: utm('google', 'cpc', 'shopping-feed', [['gclid', rng.token(24)]]),
        referrer: 'https://www.google.com/',
      };
    case 'Organic Search':
      return {
        path: rng.pick(['/', '/blog/journey-mapping', '/guides/attribution', '/products']),
        query: [],
        referrer: search,
      };
    case 'Paid Social':
      return b2b
        ? {
            path: '/lp/demo',
            query: utm('linkedin', 'paid_social', 'abm-q3', [['li_fat_id', rng.uuid()]]),
            referrer: 'https://www.linkedin.com/',
          }
        : {
            path: '/lp/offer',
            query: utm(rng.pick(['facebook', 'instagram']), 'paid_social', 'prospecting', [
              ['fbclid', rng.token(32)],
            ]),
            referrer: rng.pick(['https://m.facebook.com/', 'https://l.instagram.com/']),
          };
    case 'Organic Social':
      return {
        path: '/blog/launch',
        query: [],
        referrer: rng.pick(
          b2b
            ? ['https://www.linkedin.com/', 'https://t.co/', 'https://www.reddit.com/']
            : ['https://www.tiktok.com/', 'https://www.instagram.com/', 'https://www.reddit.com/'],
        ),
      };
    case 'Email':
      return {
        path: rng.pick(['/blog/newsletter', '/whats-new', '/offers']),
        query: utm(b2b ? 'hubspot' : 'klaviyo', 'email', rng.pick(['newsletter', 'nurture-3', 'winback'])),
        referrer: null,
      };
    case 'Retargeting':
      return {
        path: '/cart',
        query: utm(rng.pick(['criteo', 'facebook']), 'retargeting', 'cart-abandoners'),
        referrer: null,
      };
    case 'Affiliates':
      return {
        path: '/',
        query: utm(rng.pick(['wirecutter', 'honey']), 'affiliate', 'partners'),
        referrer: rng.pick(['https://www.nytimes.com/wirecutter/', 'https://www.joinhoney.com/']),
      };
    case 'Referral':
      return b2b
        ? { path: '/', query: [], referrer: rng.pick(['https://www.g2.com/', 'https://www.capterra.com/']) }
        : { path: '/invite', query: [['ref', rng.token(8)]], referrer: null };
    case 'Influencer':
      return {
        path: '/',
        query: utm('youtube', 'influencer', rng.pick(['creator-mkbhd', 'creator-ali'])),
        referrer: 'https://www.youtube.com/',
      };
    case 'Podcast':
      // Listeners type the vanity URL they heard: no referrer, no parameters.
      return { path: '/podcast', query: [], referrer: null };
    case 'Direct':
      return { path: '/', query: [], referrer: null };
    default:
      return null;
  }
}

const PAGE_TITLES: Record<string, string> = {
  '/': 'Home',
  '/pricing': 'Pricing',
  '/product': 'Product',
  '/products': 'Products',
  '/customers': 'Customers',
  '/blog': 'Blog',
  '/docs': 'Docs',
  '/podcast': 'Podcast',
  '/cart': 'Cart',
};

const titleOf = (path: string) =>
  PAGE_TITLES[path] ?? path.split('/').filter(Boolean).pop()?.replaceAll('-', ' ') ?? 'Home';

/** A web session: the landing page of a touch, then a few pages inside the site. */
export function visit(
  actions: Action[],
  rng: Random,
  args: {
    person: Person;
    device: Device;
    at: number;
    site: string;
    landing: Landing;
    channel?: string;
    pages: readonly string[];
    pageCount: number;
  },
): number {
  const { person, device, site, landing } = args;
  const search = landing.query.length ? `?${new URLSearchParams(landing.query).toString()}` : '';
  const campaign = campaignOf(landing.query);
  let at = args.at;
  let referrer = landing.referrer;
  let path = landing.path;
  for (let i = 0; i < args.pageCount; i++) {
    const url = `${site}${path}${i === 0 ? search : ''}`;
    const page: JsonObject = {
      path,
      referrer: referrer ?? '',
      search: i === 0 ? search : '',
      title: titleOf(path),
      url,
    };
    const context: JsonObject = { page };
    if (i === 0 && campaign) context.campaign = campaign;
    actions.push({
      at,
      person,
      device,
      type: 'page',
      name: titleOf(path),
      properties: { ...page },
      context,
      ...(i === 0 && args.channel ? { channel: args.channel } : {}),
    });
    referrer = url;
    path = rng.pick(args.pages);
    at += rng.between(8_000, 150_000);
  }
  return at;
}

/** `context.campaign` as analytics.js derives it from utm_* parameters. */
function campaignOf(query: [string, string][]): JsonObject | null {
  const campaign: JsonObject = {};
  for (const [k, v] of query) {
    if (!k.startsWith('utm_')) continue;
    const key = k.slice(4);
    campaign[key === 'campaign' ? 'name' : key] = v;
  }
  return Object.keys(campaign).length ? campaign : null;
}

/** A person with one to a few devices; the first device kind is the one they use most. */
export function newPerson(
  rng: Random,
  args: {
    id: string;
    accountId: string | null;
    domain: string;
    realism: Realism;
    kinds: readonly Device['kind'][];
  },
): Person {
  const firstName = rng.pick(FIRST_NAMES);
  const lastName = rng.pick(LAST_NAMES);
  const local = `${firstName}.${lastName}`
    .normalize('NFD')
    .replace(/[^A-Za-z.]/g, '')
    .toLowerCase();
  const deviceCount = Math.min(4, 1 + rng.poisson(args.realism.devicesPerPerson - 1));
  const devices: Device[] = [];
  for (let i = 0; i < deviceCount; i++) {
    devices.push(newDevice(rng, i === 0 ? (args.kinds[0] ?? 'desktop') : rng.pick(args.kinds), args.realism));
  }
  return {
    id: args.id,
    accountId: args.accountId,
    userId: `usr_${rng.token(12)}`,
    email: `${local}${rng.int(1, 99)}@${args.domain}`,
    firstName,
    lastName,
    devices,
    isBot: false,
  };
}

/** The email as this identify call spells it: now and then in a different letter case. */
export function emailAsTyped(person: Person, rng: Random, realism: Realism): string {
  if (!rng.chance(realism.emailCaseVariantRate)) return person.email;
  const [local = '', domain = ''] = person.email.split('@');
  return rng.chance(0.5)
    ? person.email.toUpperCase()
    : `${local.charAt(0).toUpperCase()}${local.slice(1)}@${domain.charAt(0).toUpperCase()}${domain.slice(1)}`;
}

/** Lets a second person of the unit use one of the first person's devices. */
export function shareDevices(persons: Person[], rng: Random, realism: Realism): void {
  if (persons.length < 2) return;
  for (const person of persons) {
    if (!rng.chance(realism.sharedDeviceRate)) continue;
    const other = rng.pick(persons.filter((p) => p !== person));
    const device = other.devices[0];
    if (!device || person.devices.includes(device)) continue;
    device.shared = true;
    person.devices.push(device);
  }
}

/** A bot: crawler user agent, no cookies, a burst of page views within minutes. */
export function botVisit(
  actions: Action[],
  rng: Random,
  bot: Person,
  at: number,
  site: string,
  pages: readonly string[],
): void {
  const device = bot.devices[0];
  if (!device) return;
  const hits = rng.int(15, 150);
  let t = at;
  for (let i = 0; i < hits; i++) {
    const path = rng.pick(pages);
    const page: JsonObject = { path, referrer: '', search: '', title: titleOf(path), url: `${site}${path}` };
    actions.push({
      at: t,
      person: bot,
      device,
      type: 'page',
      name: titleOf(path),
      properties: { ...page },
      context: { page },
      freshAnonymousId: true,
    });
    t += rng.between(100, 3_000);
  }
}

/** Spreads `n` touch times uniformly over [from, to]. */
export function touchTimes(rng: Random, n: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(rng.between(from, Math.max(from, to)));
  return out.sort((a, b) => a - b);
}
