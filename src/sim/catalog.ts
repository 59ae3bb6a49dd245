import type { Random } from './random.js';

/** Fixed vocabularies the simulator draws from: names, companies, user agents, search terms. */

export const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Elena',
  'Farah',
  'Gus',
  'Hana',
  'Ivan',
  'Jonas',
  'Kemi',
  'Lars',
  'Maya',
  'Nia',
  'Omar',
  'Priya',
  'Quinn',
  'Rosa',
  'Sven',
  'Tariq',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
  'Aiko',
  'Björn',
  'Carmen',
  'Diego',
  'Émile',
  'Fatima',
  'Grace',
  'Hugo',
  'Inés',
  'José',
] as const;

export const LAST_NAMES = [
  'Okafor',
  'Lindqvist',
  'García',
  'Nakamura',
  'Müller',
  'Rossi',
  'Kowalski',
  'Haddad',
  'Smith',
  'Chen',
  'Dubois',
  'Novak',
  'Silva',
  'Patel',
  "O'Brien",
  'Jensen',
  'Kim',
  'Ivanova',
  'Moreau',
  'Costa',
  'Schmidt',
  'Tanaka',
  'Nguyen',
  'Brown',
  'Fischer',
  'Ahmed',
  'Larsen',
  'Romero',
  'Walsh',
  'Yilmaz',
] as const;

const COMPANY_HEADS = [
  'North',
  'Blue',
  'Iron',
  'Bright',
  'Cedar',
  'Quantum',
  'Harbor',
  'Summit',
  'Nova',
  'Pine',
  'Atlas',
  'Vertex',
  'Lumen',
  'Orbit',
  'Falcon',
  'Maple',
  'Signal',
  'Copper',
  'Delta',
  'Echo',
] as const;
const COMPANY_TAILS = [
  'wind',
  'stone',
  'field',
  'works',
  'labs',
  'logic',
  'point',
  'path',
  'forge',
  'bridge',
  'line',
  'scale',
  'grid',
  'wave',
  'leaf',
] as const;
const COMPANY_SUFFIXES = ['Inc', 'GmbH', 'Ltd', 'SAS', 'AB', 'LLC', 'BV', 'Co'] as const;
export const INDUSTRIES = [
  'Software',
  'Fintech',
  'Healthcare',
  'Retail',
  'Logistics',
  'Media',
  'Education',
  'Manufacturing',
] as const;

/** A company name and a domain that cannot collide with another unit's (the unit index is in it). */
export function company(rng: Random, unit: number): { name: string; domain: string } {
  const stem = `${rng.pick(COMPANY_HEADS)}${rng.pick(COMPANY_TAILS)}`;
  return {
    name: `${stem} ${rng.pick(COMPANY_SUFFIXES)}`,
    domain: `${stem.toLowerCase()}${unit.toString(36)}.com`,
  };
}

export const USER_AGENTS = {
  desktop: [
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  ],
  mobile: [
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
    'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  ],
  bot: [
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
    'python-requests/2.32.3',
  ],
} as const;

export const SEARCH_TERMS = [
  'customer journey analytics',
  'multi touch attribution',
  'b2b attribution software',
  'marketing analytics',
  'revenue attribution',
  'segment alternative',
  'funnel analysis tool',
] as const;

export const LOCALES = ['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES', 'sv-SE', 'ja-JP', 'pt-BR'] as const;

/** A public-looking IPv4 address. */
export function ipAddress(rng: Random): string {
  return `${rng.pick([23, 45, 62, 81, 91, 104, 145, 176, 185, 203])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}
