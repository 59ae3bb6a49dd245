/**
 * GA4's source categories (search, social, video, shopping sites), our own maintained list.
 *
 * Google publishes the full list as a sheet (819 rows); we keep the brands that account for
 * nearly all traffic, matched by brand as well as by exact host, so `uk.search.yahoo.com`,
 * `l.facebook.com` and `www.google.co.uk` resolve without listing every country domain.
 * Exact hosts win over brands (`plus.google.com` is social, `mail.google.com` is nothing).
 * Workspaces that need more add channel rules with their own lists.
 */

export type SourceCategory =
  | 'SOURCE_CATEGORY_SEARCH'
  | 'SOURCE_CATEGORY_SOCIAL'
  | 'SOURCE_CATEGORY_VIDEO'
  | 'SOURCE_CATEGORY_SHOPPING';

const SEARCH = 'SOURCE_CATEGORY_SEARCH';
const SOCIAL = 'SOURCE_CATEGORY_SOCIAL';
const VIDEO = 'SOURCE_CATEGORY_VIDEO';
const SHOPPING = 'SOURCE_CATEGORY_SHOPPING';

/** Exact sources and hosts (after dropping `www.`). */
const EXACT: Record<string, SourceCategory | null> = {
  'google shopping': SHOPPING,
  igshopping: SHOPPING,
  'shopping.google.com': SHOPPING,
  'shopping.yahoo.com': SHOPPING,
  'checkout.stripe.com': SHOPPING,
  'plus.google.com': SOCIAL,
  'plus.url.google.com': SOCIAL,
  'groups.google.com': SOCIAL,
  'sites.google.com': SOCIAL,
  'news.ycombinator.com': SOCIAL,
  'news.google.com': SEARCH,
  'lnkd.in': SOCIAL,
  't.co': SOCIAL,
  'x.com': SOCIAL,
  'fb.me': SOCIAL,
  'youtu.be': VIDEO,
  'search.brave.com': SEARCH,
  'ted.com': VIDEO,
  'mail.google.com': null,
  'docs.google.com': null,
  'drive.google.com': null,
  'mail.yahoo.com': null,
  'outlook.live.com': null,
  'search.app': SEARCH,
};

/** Brands: a host matches when one of its labels is the brand (`m.facebook.com` → facebook). */
const BRANDS: Record<string, SourceCategory> = {
  // search
  google: SEARCH,
  bing: SEARCH,
  yahoo: SEARCH,
  baidu: SEARCH,
  duckduckgo: SEARCH,
  ecosia: SEARCH,
  yandex: SEARCH,
  naver: SEARCH,
  qwant: SEARCH,
  seznam: SEARCH,
  ask: SEARCH,
  aol: SEARCH,
  startpage: SEARCH,
  sogou: SEARCH,
  so: SEARCH,
  daum: SEARCH,
  kagi: SEARCH,
  msn: SEARCH,
  avg: SEARCH,
  lycos: SEARCH,
  dogpile: SEARCH,
  onet: SEARCH,
  rakuten: SEARCH,
  // social
  facebook: SOCIAL,
  instagram: SOCIAL,
  linkedin: SOCIAL,
  twitter: SOCIAL,
  reddit: SOCIAL,
  pinterest: SOCIAL,
  tiktok: SOCIAL,
  quora: SOCIAL,
  whatsapp: SOCIAL,
  snapchat: SOCIAL,
  threads: SOCIAL,
  bsky: SOCIAL,
  mastodon: SOCIAL,
  discord: SOCIAL,
  telegram: SOCIAL,
  slack: SOCIAL,
  tumblr: SOCIAL,
  vk: SOCIAL,
  weibo: SOCIAL,
  wechat: SOCIAL,
  line: SOCIAL,
  messenger: SOCIAL,
  meetup: SOCIAL,
  producthunt: SOCIAL,
  stackoverflow: SOCIAL,
  stackexchange: SOCIAL,
  github: SOCIAL,
  medium: SOCIAL,
  xing: SOCIAL,
  glassdoor: SOCIAL,
  yelp: SOCIAL,
  tripadvisor: SOCIAL,
  disqus: SOCIAL,
  flickr: SOCIAL,
  ycombinator: SOCIAL,
  // video
  youtube: VIDEO,
  vimeo: VIDEO,
  twitch: VIDEO,
  netflix: VIDEO,
  dailymotion: VIDEO,
  wistia: VIDEO,
  vidyard: VIDEO,
  hulu: VIDEO,
  // shopping
  amazon: SHOPPING,
  ebay: SHOPPING,
  etsy: SHOPPING,
  alibaba: SHOPPING,
  aliexpress: SHOPPING,
  shopify: SHOPPING,
  walmart: SHOPPING,
  mercadolibre: SHOPPING,
  shopzilla: SHOPPING,
  zalando: SHOPPING,
  rakutenmarket: SHOPPING,
  temu: SHOPPING,
  wish: SHOPPING,
};

/** Labels that sit between a brand and a country code: google.co.uk, yahoo.com.au. */
const SECOND_LEVEL = new Set(['co', 'com', 'net', 'org', 'ac', 'gov', 'edu', 'ne', 'or', 'go']);

/** The tables themselves, for the SQL compiler (rules-sql.ts), which classifies from the same lists. */
export const CATEGORY_TABLES = {
  exact: EXACT,
  brands: BRANDS,
  secondLevel: [...SECOND_LEVEL],
} as const;

const memo = new Map<string, SourceCategory | null>();

/** The category of a source name or host, or null. */
export function sourceCategoryOf(source: string): SourceCategory | null {
  const key = source.trim().toLowerCase();
  const known = memo.get(key);
  if (known !== undefined) return known;
  const category = lookup(key);
  if (memo.size < 50_000) memo.set(key, category);
  return category;
}

function lookup(key: string): SourceCategory | null {
  if (key === '') return null;
  const host = key.startsWith('www.') ? key.slice(4) : key;
  if (Object.hasOwn(EXACT, host)) return EXACT[host] ?? null;
  if (Object.hasOwn(BRANDS, host)) return BRANDS[host] ?? null;
  // A host: its registrable name decides (`uk.search.yahoo.com` → yahoo, `google.co.uk` → google).
  const name = registrableName(host);
  if (name !== null && Object.hasOwn(BRANDS, name)) return BRANDS[name] ?? null;
  return null;
}

/** The name a host is registered under: `uk.search.yahoo.com` → yahoo, `www.google.co.uk` → google. */
export function registrableName(host: string): string | null {
  const labels = host.split('.');
  if (labels.length < 2) return null;
  let i = labels.length - 2;
  while (i > 0 && SECOND_LEVEL.has(labels[i] as string)) i--;
  return labels[i] as string;
}
