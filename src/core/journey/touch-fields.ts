import type { JsonObject } from '../spec/message.js';
import type { Fields, FieldValue } from './conditions.js';
import { type JourneyEvent, pathOf, scalarOf, textOf } from './journey-event.js';
import { registrableName, sourceCategoryOf } from './source-categories.js';

/**
 * What an event says about how the person got here: campaign parameters, click ids, referrer,
 * landing page, self-reported answers. Both channel rule sets read these fields.
 */

export const CLICK_IDS = [
  'gclid',
  'gbraid',
  'wbraid',
  'dclid',
  'fbclid',
  'msclkid',
  'li_fat_id',
  'ttclid',
  'twclid',
] as const;
export type ClickId = (typeof CLICK_IDS)[number];

/**
 * How the event arrived:
 * - `campaign`: UTM parameters or an ad click id;
 * - `referral`: from another site (search engines included);
 * - `direct`: a page or screen view with no referrer and no campaign;
 * - `internal`: a view whose referrer is the site itself (navigation inside a visit);
 * - `none`: not a page or screen view (track calls, server-side and offline events).
 */
export type Arrival = 'campaign' | 'referral' | 'direct' | 'internal' | 'none';

export interface TouchFields {
  arrival: Arrival;
  /** GA4's derived source: utm_source, else from a click id or the referrer, else `(direct)`. */
  source: string;
  /** GA4's derived medium: utm_medium, else `cpc`, `organic`, `referral` or `(none)`. */
  medium: string;
  campaign: string | null;
  content: string | null;
  term: string | null;
  utmSource: string | null;
  utmMedium: string | null;
  utmCampaign: string | null;
  /** Host of the referrer, `$direct` for a view without one, null without page context. */
  referringDomain: string | null;
  landingUrl: string | null;
  landingPath: string | null;
  clickIds: Partial<Record<ClickId, string>>;
  gadSource: string | null;
  /** "How did you hear about us?" */
  selfReported: string | null;
  promoCode: string | null;
}

export interface TouchOptions {
  /** Hosts that are the workspace's own (cross-domain): referrers from them are internal. */
  ownDomains: readonly string[];
  /** Referrers to ignore (payment pages, SSO): treated as internal. */
  ignoreReferrers: readonly string[];
}

export const DEFAULT_TOUCH_OPTIONS: TouchOptions = { ownDomains: [], ignoreReferrers: [] };

/** Where forms put "how did you hear about us?" and promo codes (the bulk scan reads these too). */
export const SELF_REPORTED_KEYS = [
  'how_did_you_hear',
  'heard_about_us',
  'hdyhau',
  'attribution_source',
  'referral_source',
];
export const PROMO_KEYS = ['promo_code', 'coupon', 'discount_code', 'voucher'];

/** Auto-tagged click ids GA4 (and Microsoft Ads) decode into a source/medium. */
const CLICK_SOURCE: Partial<Record<ClickId, [string, string]>> = {
  gclid: ['google', 'cpc'],
  gbraid: ['google', 'cpc'],
  wbraid: ['google', 'cpc'],
  dclid: ['dv360', 'cpm'],
  msclkid: ['bing', 'cpc'],
};

export function touchFieldsOf(e: JourneyEvent, options: TouchOptions = DEFAULT_TOUCH_OPTIONS): TouchFields {
  const ctx = e.context;
  const props = e.properties;
  const isView = e.type === 'page' || e.type === 'screen';
  const pageUrl = textOf(pathOf(ctx, 'page.url')) ?? (isView ? textOf(pathOf(props, 'url')) : null);
  const search = textOf(pathOf(ctx, 'page.search')) ?? (isView ? textOf(pathOf(props, 'search')) : null);
  const referrerUrl =
    textOf(pathOf(ctx, 'page.referrer')) ??
    (isView ? textOf(pathOf(props, 'referrer')) : null) ??
    textOf(pathOf(ctx, 'referrer.url')) ??
    textOf(pathOf(ctx, 'referrer.link'));
  const hasPage = pageUrl !== null || pathOf(ctx, 'page') !== null || e.type === 'screen';

  const url = parseUrl(pageUrl);
  const query = queryOf(url, search);
  const campaign = (pathOf(ctx, 'campaign') ?? null) as JsonObject | null;
  const utm = (key: string, campaignKey: string) =>
    textOf(campaign && typeof campaign === 'object' ? pathOf(campaign, campaignKey) : null) ??
    textOf(query?.get(key));
  const utmSource = utm('utm_source', 'source');
  const utmMedium = utm('utm_medium', 'medium');
  const utmCampaign = utm('utm_campaign', 'name');
  const content = utm('utm_content', 'content');
  const term = utm('utm_term', 'term');

  const clickIds: Partial<Record<ClickId, string>> = {};
  let firstClick: ClickId | null = null;
  for (const id of CLICK_IDS) {
    const v = textOf(query?.get(id)) ?? textOf(pathOf(props, id));
    if (v !== null) {
      clickIds[id] = v;
      firstClick ??= id;
    }
  }
  const gadSource = textOf(query?.get('gad_source'));

  const referrerHost = hostOf(referrerUrl);
  const ownHost = url?.hostname.toLowerCase() ?? null;
  const internal =
    referrerHost !== null &&
    (referrerHost === ownHost ||
      matchesHost(referrerHost, options.ownDomains) ||
      matchesHost(referrerHost, options.ignoreReferrers));
  const referringDomain = !hasPage ? null : referrerHost === null || internal ? '$direct' : referrerHost;

  const hasCampaign = utmSource !== null || utmMedium !== null || utmCampaign !== null || firstClick !== null;
  let source: string;
  let medium: string;
  if (utmSource !== null || utmMedium !== null) {
    source = utmSource ?? '(not set)';
    medium = utmMedium ?? '(not set)';
  } else if (firstClick !== null && CLICK_SOURCE[firstClick]) {
    [source, medium] = CLICK_SOURCE[firstClick] as [string, string];
  } else if (referrerHost !== null && !internal) {
    const bare = referrerHost.replace(/^www\./, '');
    const isSearch = sourceCategoryOf(bare) === 'SOURCE_CATEGORY_SEARCH';
    source = isSearch ? searchEngineName(bare) : bare;
    medium = isSearch ? 'organic' : 'referral';
  } else {
    source = '(direct)';
    medium = '(none)';
  }

  // Only a page or screen view arrives; a track call on that page repeats the page's context.
  const arrival: Arrival = !isView
    ? 'none'
    : hasCampaign
      ? 'campaign'
      : internal
        ? 'internal'
        : referrerHost !== null
          ? 'referral'
          : 'direct';

  return {
    arrival,
    source,
    medium,
    campaign: utmCampaign,
    content,
    term,
    utmSource,
    utmMedium,
    utmCampaign,
    referringDomain,
    landingUrl: pageUrl,
    landingPath:
      url?.pathname ?? textOf(pathOf(ctx, 'page.path')) ?? (isView ? textOf(pathOf(props, 'path')) : null),
    clickIds,
    gadSource,
    selfReported: firstText(props, SELF_REPORTED_KEYS) ?? firstText(e.traits, SELF_REPORTED_KEYS),
    promoCode: firstText(props, PROMO_KEYS),
  };
}

/** The fields a channel rule may name, over an event and its touch fields. */
export function touchFieldAccessor(e: JourneyEvent, t: TouchFields): Fields {
  return (field: string): FieldValue => {
    switch (field) {
      case 'source':
        return t.source;
      case 'medium':
        return t.medium;
      case 'campaign':
        return t.campaign;
      case 'content':
        return t.content;
      case 'term':
        return t.term;
      case 'utm_source':
        return t.utmSource;
      case 'utm_medium':
        return t.utmMedium;
      case 'utm_campaign':
        return t.utmCampaign;
      case 'referring_domain':
        return t.referringDomain;
      case 'landing_url':
        return t.landingUrl;
      case 'landing_path':
        return t.landingPath;
      case 'gad_source':
        return t.gadSource;
      case 'self_reported':
        return t.selfReported;
      case 'promo_code':
        return t.promoCode;
      case 'arrival':
        return t.arrival;
      case 'event':
        return e.event ?? e.name;
      case 'type':
        return e.type;
      default:
        if ((CLICK_IDS as readonly string[]).includes(field)) return t.clickIds[field as ClickId] ?? null;
        return messageField(e, field);
    }
  };
}

/** `properties.x`, `traits.x`, `context.x` paths into the event. */
export function messageField(e: JourneyEvent, field: string): FieldValue {
  const dot = field.indexOf('.');
  if (dot < 0) return null;
  const root = field.slice(0, dot);
  const rest = field.slice(dot + 1);
  if (root === 'properties') return scalarOf(pathOf(e.properties, rest));
  if (root === 'traits') return scalarOf(pathOf(e.traits, rest));
  if (root === 'context') return scalarOf(pathOf(e.context, rest));
  return null;
}

/** A key identifying the campaign of an arrival (sessions split on it, UA style), or null. */
export function campaignKeyOf(t: TouchFields): string | null {
  if (t.arrival !== 'campaign' && t.arrival !== 'referral') return null;
  return `${t.source}|${t.medium}|${t.campaign ?? ''}|${t.content ?? ''}|${t.term ?? ''}`;
}

function parseUrl(s: string | null): URL | null {
  if (s === null) return null;
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

function queryOf(url: URL | null, search: string | null): URLSearchParams | null {
  if (search !== null) return new URLSearchParams(search);
  return url && url.search !== '' ? url.searchParams : null;
}

function hostOf(s: string | null): string | null {
  if (s === null) return null;
  const url = parseUrl(s.includes('://') ? s : `https://${s}`);
  const host = url?.hostname.toLowerCase() ?? '';
  return host === '' ? null : host;
}

function matchesHost(host: string, list: readonly string[]): boolean {
  return list.some((d) => host === d || host.endsWith(`.${d}`));
}

/** `www.google.co.uk` → `google`: GA4 reports search engines by name. */
function searchEngineName(host: string): string {
  const name = registrableName(host);
  return name === null || name === 'search' ? host : name;
}

function firstText(obj: JsonObject | null, keys: readonly string[]): string | null {
  if (obj === null) return null;
  for (const k of keys) {
    const v = textOf(obj[k]);
    if (v !== null) return v;
  }
  return null;
}
