import { revenueOf } from '../identity/profile.js';
import type { JsonObject, JsonValue, StoredEvent } from '../spec/message.js';
import { isBotUserAgent } from './bots.js';
import { type JourneyEvent, journeyEventOf, pathOf, scalarOf, textOf } from './journey-event.js';
import { registrableName, sourceCategoryOf } from './source-categories.js';

/**
 * What an event says about how the person got here: campaign parameters, click ids, referrer,
 * landing page, self-reported answers. Every channel rule set reads these fields.
 *
 * This module is the one definition of:
 * - where each input is read in an event (`TOUCH_INPUTS`, `UTM_PARAMS`, `CLICK_IDS`, the
 *   campaign object, the query string): the JavaScript extraction below, the SQL extraction the
 *   loader runs into `event_facts` (store/duckdb-facts-sql.ts) and the journey scan's JSON paths
 *   (`touchJsonPaths`) are all generated from these lists;
 * - the fields a rule may name (`RULE_FIELDS`): the JavaScript accessor, the SQL compiler
 *   (rules-sql.ts) and rule validation (conditions.ts) use this list.
 *
 * Two steps, as in SQL: an event's immutable facts (`touchFactsOf`, `eventFactsOf`: stored once
 * per event in `event_facts`), then the settings-dependent fields (`touchFieldsFromFacts`: own
 * domains and ignored referrers decide what is internal, hence source, medium and arrival).
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

/** Where forms put "how did you hear about us?" and promo codes. */
export const SELF_REPORTED_KEYS = [
  'how_did_you_hear',
  'heard_about_us',
  'hdyhau',
  'attribution_source',
  'referral_source',
];
export const PROMO_KEYS = ['promo_code', 'coupon', 'discount_code', 'voucher'];

/** A JSON part of a stored event. */
export type JsonRoot = 'context' | 'properties' | 'traits';

/** A place an input is read from: a dotted path in one JSON part; `views`: page and screen views only. */
export interface JsonSource {
  root: JsonRoot;
  path: string;
  views?: true;
}

const inContext = (path: string): JsonSource => ({ root: 'context', path });
const inProperties = (path: string): JsonSource => ({ root: 'properties', path });
const inViewProperties = (path: string): JsonSource => ({ root: 'properties', path, views: true });
const inTraits = (path: string): JsonSource => ({ root: 'traits', path });

/**
 * The inputs read as text (`textOf`), each from the first of its sources that has one. Page
 * and screen views may carry the page in their properties (analytics.js page calls do); a track
 * call on that page only repeats its context.
 */
export const TOUCH_INPUTS = {
  url: [inContext('page.url'), inViewProperties('url')],
  search: [inContext('page.search'), inViewProperties('search')],
  referrer: [
    inContext('page.referrer'),
    inViewProperties('referrer'),
    inContext('referrer.url'),
    inContext('referrer.link'),
  ],
  path: [inContext('page.path'), inViewProperties('path')],
  userAgent: [inContext('userAgent')],
  selfReported: [...SELF_REPORTED_KEYS.map(inProperties), ...SELF_REPORTED_KEYS.map(inTraits)],
  promoCode: PROMO_KEYS.map(inProperties),
} as const satisfies Record<string, readonly JsonSource[]>;
export type TouchInput = keyof typeof TOUCH_INPUTS;

/** `context.page`: present (even null) makes an event interactive; non-null gives it a page. */
export const PAGE_OBJECT: JsonSource = inContext('page');

/** analytics.js's `context.campaign`, read before the query string's `utm_*`. */
export const CAMPAIGN_OBJECT: JsonSource = inContext('campaign');

/** UTM parameters: the query parameter and its key in `context.campaign`. */
export const UTM_PARAMS = [
  ['utm_source', 'source'],
  ['utm_medium', 'medium'],
  ['utm_campaign', 'name'],
  ['utm_content', 'content'],
  ['utm_term', 'term'],
] as const;
export type UtmParam = (typeof UTM_PARAMS)[number][0];

/** Click ids are read from the query string, else from `properties.<id>`; `gad_source` from the query only. */
export const CLICK_ID_SOURCES: readonly JsonSource[] = CLICK_IDS.map(inProperties);
export const GAD_SOURCE_PARAM = 'gad_source';

/** Auto-tagged click ids GA4 (and Microsoft Ads) decode into a source/medium. */
export const CLICK_SOURCE: Partial<Record<ClickId, readonly [string, string]>> = {
  gclid: ['google', 'cpc'],
  gbraid: ['google', 'cpc'],
  wbraid: ['google', 'cpc'],
  dclid: ['dv360', 'cpm'],
  msclkid: ['bing', 'cpc'],
};

/** Every JSON path the touch fields read, per part (the journey scan keeps only these). */
export function touchJsonPaths(): Record<JsonRoot, string[]> {
  const paths: Record<JsonRoot, string[]> = { context: [], properties: [], traits: [] };
  const add = (s: JsonSource) => {
    if (!paths[s.root].includes(s.path)) paths[s.root].push(s.path);
  };
  const { url, search, referrer, path, userAgent, selfReported, promoCode } = TOUCH_INPUTS;
  for (const s of [...userAgent, ...url, ...search, ...referrer, ...path]) if (s.root === 'context') add(s);
  for (const [, key] of UTM_PARAMS) add(inContext(`${CAMPAIGN_OBJECT.path}.${key}`));
  for (const s of [...url, ...search, ...referrer, ...path]) if (s.root !== 'context') add(s);
  for (const s of [...CLICK_ID_SOURCES, ...selfReported, ...promoCode]) add(s);
  return paths;
}

/**
 * The fields a channel rule may name (besides `properties.*`, `traits.*`, `context.*`).
 * Stage triggers may also name the journey's own annotations (`JOURNEY_FIELDS`).
 */
export const RULE_FIELDS = [
  'source',
  'medium',
  'campaign',
  'content',
  'term',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'referring_domain',
  'landing_url',
  'landing_path',
  ...CLICK_IDS,
  'gad_source',
  'self_reported',
  'promo_code',
  'arrival',
  'event',
  'type',
] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

/** What journey.ts gives stage triggers on top of the rule fields (null in channel rules). */
export const JOURNEY_FIELDS = ['touchpoint', 'session_number'] as const;

/** `properties.x`, `traits.x`, `context.x`: a dotted path into the event's JSON. */
export const MESSAGE_FIELD_ROOTS: readonly JsonRoot[] = ['properties', 'traits', 'context'];

/** Whether a rule may name the field; unknown fields are refused when rules are validated. */
export function isKnownField(field: string): boolean {
  if ((RULE_FIELDS as readonly string[]).includes(field)) return true;
  if ((JOURNEY_FIELDS as readonly string[]).includes(field)) return true;
  const dot = field.indexOf('.');
  return (
    dot > 0 &&
    dot < field.length - 1 &&
    (MESSAGE_FIELD_ROOTS as readonly string[]).includes(field.slice(0, dot))
  );
}

/**
 * How the event arrived:
 * - `campaign`: UTM parameters or an ad click id;
 * - `referral`: from another site (search engines included);
 * - `direct`: a page or screen view with no referrer and no campaign;
 * - `internal`: a view whose referrer is the site itself (navigation inside a visit);
 * - `none`: not a page or screen view (track calls, server-side and offline events).
 */
export type Arrival = 'campaign' | 'referral' | 'direct' | 'internal' | 'none';

/** What an event says about how it arrived, independent of any setting: stored once per event. */
export interface TouchFacts {
  /** The page URL as sent (the landing page when the event opens a visit). */
  pageUrl: string | null;
  /** Host of the page URL, lower-case; null when it is not an absolute URL. */
  pageHost: string | null;
  /** Path of the page URL, else the page path as sent. */
  pagePath: string | null;
  /** A page URL, a `context.page` or a screen view. */
  hasPage: boolean;
  /** Host of the referrer, lower-case. */
  referrerHost: string | null;
  utm: Record<UtmParam, string | null>;
  clickIds: Partial<Record<ClickId, string>>;
  /** The first click id present, in `CLICK_IDS` order (the one that decides source and medium). */
  clickId: ClickId | null;
  gadSource: string | null;
  /** "How did you hear about us?" */
  selfReported: string | null;
  promoCode: string | null;
}

/** An event's facts: its touch facts and what sessions, stages, bots and revenue read. */
export interface EventFacts extends TouchFacts {
  workspaceId: string;
  seq: number;
  type: string;
  /** `event` of a track call, `name` of a page or screen view. */
  event: string | null;
  timestamp: number;
  groupId: string | null;
  userAgent: string | null;
  /** A view, a call from a browser or app (user agent) or with page context: makes sessions. */
  interactive: boolean;
  /** The user agent is a known crawler, monitor or headless browser (bots.ts). */
  isBot: boolean;
  /** What the event books (identity/profile.ts `revenueOf`). */
  revenue: number | null;
}

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

const isViewType = (type: string) => type === 'page' || type === 'screen';

/** The first text among the sources (page and screen views read their `views` sources too). */
function textFrom(e: JourneyEvent, sources: readonly JsonSource[]): string | null {
  const isView = isViewType(e.type);
  for (const s of sources) {
    if (s.views && !isView) continue;
    const v = textOf(pathOf(e[s.root], s.path));
    if (v !== null) return v;
  }
  return null;
}

export function touchFactsOf(e: JourneyEvent): TouchFacts {
  const pageUrl = textFrom(e, TOUCH_INPUTS.url);
  const search = textFrom(e, TOUCH_INPUTS.search);
  const url = parseUrl(pageUrl);
  const query = queryOf(url, search);
  const campaign = pathOf(e[CAMPAIGN_OBJECT.root], CAMPAIGN_OBJECT.path);
  const utm = {} as Record<UtmParam, string | null>;
  for (const [param, key] of UTM_PARAMS) {
    utm[param] =
      textOf(campaign && typeof campaign === 'object' ? pathOf(campaign as JsonObject, key) : null) ??
      textOf(query?.get(param));
  }
  const clickIds: Partial<Record<ClickId, string>> = {};
  let clickId: ClickId | null = null;
  CLICK_IDS.forEach((id, i) => {
    const s = CLICK_ID_SOURCES[i] as JsonSource;
    const v = textOf(query?.get(id)) ?? textOf(pathOf(e[s.root], s.path));
    if (v !== null) {
      clickIds[id] = v;
      clickId ??= id;
    }
  });
  return {
    pageUrl,
    pageHost: url?.hostname.toLowerCase() ?? null,
    pagePath: url?.pathname ?? textFrom(e, TOUCH_INPUTS.path),
    hasPage:
      pageUrl !== null || pathOf(e[PAGE_OBJECT.root], PAGE_OBJECT.path) !== null || e.type === 'screen',
    referrerHost: hostOf(textFrom(e, TOUCH_INPUTS.referrer)),
    utm,
    clickIds,
    clickId,
    gadSource: textOf(query?.get(GAD_SOURCE_PARAM)),
    selfReported: textFrom(e, TOUCH_INPUTS.selfReported),
    promoCode: textFrom(e, TOUCH_INPUTS.promoCode),
  };
}

/** Everything `event_facts` holds for a stored event (the loader's JavaScript path and the tests). */
export function eventFactsOf(stored: StoredEvent): EventFacts {
  const e = journeyEventOf(stored);
  const userAgent = textFrom(e, TOUCH_INPUTS.userAgent);
  return {
    workspaceId: stored.workspaceId,
    seq: stored.seq,
    type: stored.type,
    event: e.event ?? e.name,
    timestamp: stored.timestamp,
    groupId: stored.groupId,
    ...touchFactsOf(e),
    userAgent,
    interactive: isViewType(e.type) || userAgent !== null || e.context?.[PAGE_OBJECT.path] !== undefined,
    isBot: isBotUserAgent(userAgent),
    revenue: revenueOf(stored.type, stored.event, stored.properties),
  };
}

/** Whether the referrer is the site itself, one of its own domains or an ignored referrer. */
export function isInternalReferrer(f: TouchFacts, options: TouchOptions): boolean {
  const host = f.referrerHost;
  return (
    host !== null &&
    (host === f.pageHost ||
      matchesHost(host, options.ownDomains) ||
      matchesHost(host, options.ignoreReferrers))
  );
}

/** The fields rules read, from an event's facts under the workspace's options. */
export function touchFieldsFromFacts(type: string, f: TouchFacts, options: TouchOptions): TouchFields {
  const { utm_source: utmSource, utm_medium: utmMedium, utm_campaign: utmCampaign } = f.utm;
  const referrerHost = f.referrerHost;
  const internal = isInternalReferrer(f, options);
  const referringDomain = !f.hasPage ? null : referrerHost === null || internal ? '$direct' : referrerHost;

  const hasCampaign = utmSource !== null || utmMedium !== null || utmCampaign !== null || f.clickId !== null;
  let source: string;
  let medium: string;
  const byClick = f.clickId === null ? undefined : CLICK_SOURCE[f.clickId];
  if (utmSource !== null || utmMedium !== null) {
    source = utmSource ?? '(not set)';
    medium = utmMedium ?? '(not set)';
  } else if (byClick) {
    [source, medium] = byClick;
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
  const arrival: Arrival = !isViewType(type)
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
    content: f.utm.utm_content,
    term: f.utm.utm_term,
    utmSource,
    utmMedium,
    utmCampaign,
    referringDomain,
    landingUrl: f.pageUrl,
    landingPath: f.pagePath,
    clickIds: f.clickIds,
    gadSource: f.gadSource,
    selfReported: f.selfReported,
    promoCode: f.promoCode,
  };
}

export function touchFieldsOf(e: JourneyEvent, options: TouchOptions = DEFAULT_TOUCH_OPTIONS): TouchFields {
  return touchFieldsFromFacts(e.type, touchFactsOf(e), options);
}

/** A field's value for a rule (conditions.ts `FieldValue`). */
type FieldValue = string | number | boolean | null;

/** The fields a channel rule may name, over an event and its touch fields. */
export function touchFieldAccessor(e: JourneyEvent, t: TouchFields): (field: string) => FieldValue {
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

/**
 * `properties.x`, `traits.x`, `context.x` paths into the event: a scalar, or null (objects and
 * arrays are not comparable). Only the event's own keys count (`properties.constructor` is not
 * a field of every event).
 */
export function messageField(e: JourneyEvent, field: string): FieldValue {
  const dot = field.indexOf('.');
  if (dot < 0) return null;
  const root = field.slice(0, dot);
  if (!(MESSAGE_FIELD_ROOTS as readonly string[]).includes(root)) return null;
  let v: JsonValue | undefined = e[root as JsonRoot] ?? undefined;
  for (const key of field.slice(dot + 1).split('.')) {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key))
      return null;
    v = v[key];
  }
  return scalarOf(v ?? null);
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

/** The host of a referrer (a bare `google.com` counts as https); null when it has none. */
export function hostOf(s: string | null): string | null {
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
