import { type ChannelRule, channelRuleSchema } from './channel-rules.js';
import { type Condition, compileCondition, parseRules } from './conditions.js';
import type { JourneySettings } from './journey-settings.js';
import { effectiveChannelRules } from './rulesets.js';
import { CATEGORY_TABLES, type SourceCategory } from './source-categories.js';
import {
  CLICK_IDS,
  CLICK_SOURCE,
  type ClickId,
  type JsonRoot,
  MESSAGE_FIELD_ROOTS,
  RULE_FIELDS,
  type RuleField,
  type TouchOptions,
} from './touch-fields.js';

/**
 * Channel rules compiled to SQL (DuckDB) over the `event_facts` table: the same parsed rules the
 * JavaScript interpreter runs (conditions.ts, channel-rules.ts), giving the same channel, source
 * and medium for every event, computed at query time — a rule change applies to all history with
 * nothing to rebuild. The JavaScript interpreter stays for the real-time path; a differential
 * test (rules-sql.test.ts, test/integration/facts-differential.test.ts) holds the two together.
 *
 * The SQL follows JavaScript's semantics where they differ from SQL's: `toLowerCase` (with
 * `İ` and final `Σ`), `String.prototype.trim`'s whitespace, `Number(string)`, `String(number)`.
 * Every value from a rule reaches the SQL as a quoted literal (`sqlString`): rules cannot
 * inject SQL.
 */

// ---------------------------------------------------------------------------------------------
// Literals and JavaScript semantics in SQL (also used by the loader's fact extraction)

/**
 * A SQL string literal: quotes doubled, and NUL through chr(0) (the text reaches DuckDB as a C
 * string, which a NUL would cut short). Other control characters are plain text in a literal.
 */
export function sqlString(s: string): string {
  const quoted = (t: string) => `'${t.replaceAll("'", "''")}'`;
  const wellFormed = s.toWellFormed();
  if (!wellFormed.includes('\u0000')) return quoted(wellFormed);
  return `(${wellFormed
    .split('\u0000')
    .map((part) => (part === '' ? null : quoted(part)))
    .flatMap((part, i) => (i === 0 ? [part] : ['chr(0)', part]))
    .filter((part) => part !== null)
    .join(' || ')})`;
}

const sqlNumber = (n: number): string => `(${String(n)})::DOUBLE`;

/** What `String.prototype.trim` removes (WhiteSpace and LineTerminator). */
const JS_WHITESPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
];
const WHITESPACE_SQL = sqlString(String.fromCodePoint(...JS_WHITESPACE));

/** `x.trim()`. */
export const sqlTrimJs = (x: string): string => `trim(${x}, ${WHITESPACE_SQL})`;

/**
 * `textOf` of a string: trimmed, and '' / 'null' / 'undefined' (any case) as missing. Values
 * that start and end with a visible ASCII character and cannot spell null or undefined (most)
 * are returned as they are, without the regex.
 */
export const sqlTextOfString = (x: string): string =>
  `CASE WHEN ascii(${x}) BETWEEN 33 AND 126 AND ascii(right(${x}, 1)) BETWEEN 33 AND 126 AND strlen(${x}) <> 4
      AND strlen(${x}) <> 9
    THEN ${x} ELSE nullif(regexp_replace(${sqlTrimJs(x)}, '^(?i:null|undefined)$', ''), '') END`;

/** `String(n)` of a JSON number's text (DuckDB writes `1e21` where JavaScript writes `1e+21`). */
export const sqlNumberText = (jsonText: string): string => `regexp_replace(${jsonText}, 'e([0-9])', 'e+\\1')`;

/** `textOf` of a JSON value (`JSON`): strings trimmed, numbers and booleans as text, the rest null. */
export function sqlTextOfJson(j: string): string {
  return `CASE json_type(${j}) WHEN 'VARCHAR' THEN ${sqlTextOfString(`json_extract_string(${j}, '$')`)}
    WHEN 'BOOLEAN' THEN ${j}::VARCHAR WHEN 'NULL' THEN NULL WHEN 'OBJECT' THEN NULL WHEN 'ARRAY' THEN NULL
    ELSE ${sqlNumberText(`${j}::VARCHAR`)} END`;
}

/**
 * Code points DuckDB's lower() (utf8proc, DuckDB 1.5) maps differently from JavaScript: letters
 * newer than its Unicode tables (Unicode 16) and `İ` (JavaScript: `i̇`). rules-sql.test.ts
 * sweeps every code point to keep this list true.
 */
const LOWER_DIFFERS: readonly (readonly [number, number])[] = [
  [0x130, 0x130],
  [0x1c89, 0x1c89],
  [0xa7cb, 0xa7cc],
  [0xa7ce, 0xa7ce],
  [0xa7d2, 0xa7d2],
  [0xa7d4, 0xa7d4],
  [0xa7da, 0xa7da],
  [0xa7dc, 0xa7dc],
  [0x10d50, 0x10d65],
  [0x16ea0, 0x16eb8],
];
const hex = (cp: number) => `\\x{${cp.toString(16)}}`;
const SLOW_LOWER = `[Σ${LOWER_DIFFERS.map(([a, b]) => (a === b ? hex(a) : `${hex(a)}-${hex(b)}`)).join('')}]`;
/** The one-to-one mappings among them (`İ` maps to two code points), for translate(). */
const oneToOne = LOWER_DIFFERS.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i)).filter(
  (cp) => [...String.fromCodePoint(cp).toLowerCase()].length === 1,
);
const LOWER_FROM = oneToOne.map((cp) => String.fromCodePoint(cp)).join('');
const LOWER_TO = oneToOne.map((cp) => String.fromCodePoint(cp).toLowerCase()).join('');

/** An RE2 class body of the code points passing `test` (surrogates excluded). */
function codePointClass(test: (ch: string) => boolean): string {
  const parts: string[] = [];
  let start = -1;
  const close = (end: number) => {
    if (start >= 0) parts.push(start === end ? hex(start) : `${hex(start)}-${hex(end)}`);
    start = -1;
  };
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) {
      close(cp - 1);
      continue;
    }
    if (test(String.fromCodePoint(cp))) {
      if (start < 0) start = cp;
    } else close(cp - 1);
  }
  close(0x10ffff);
  return parts.join('');
}

let finalSigma: string | null = null;

/**
 * Unicode's Final_Sigma as V8 (ICU) applies it, in RE2: a `Σ` preceded by a cased letter (then
 * case-ignorables) and not followed by case-ignorables then a cased letter, where a character
 * that is both counts as case-ignorable. The classes come from this JavaScript engine's own
 * Unicode tables (`\p{Cased}`, `\p{Case_Ignorable}`), built once.
 */
function finalSigmaPattern(): string {
  if (finalSigma === null) {
    const isIgnorable = (ch: string) => /\p{Case_Ignorable}/u.test(ch);
    const casedOnly = codePointClass((ch) => /\p{Cased}/u.test(ch) && !isIgnorable(ch));
    const ignorable = codePointClass(isIgnorable);
    finalSigma = `([${casedOnly}][${ignorable}]*)Σ([${ignorable}]*)([^${casedOnly}${ignorable}]|$)`;
  }
  return finalSigma;
}

/**
 * `x.toLowerCase()`: DuckDB's lower(), except for values holding a code point it maps
 * differently (replaced by JavaScript's mapping first) or a `Σ` (JavaScript writes a
 * word-final one as `ς`), which take a slower road.
 */
export function sqlLowerJs(x: string): string {
  const sigma = `regexp_replace(${x}, ${sqlString(finalSigmaPattern())}, '\\1ς\\2\\3', 'g')`;
  const fixed = `translate(replace(${sigma}, 'İ', ${sqlString('İ'.toLowerCase())}), ${sqlString(LOWER_FROM)}, ${sqlString(LOWER_TO)})`;
  return `CASE WHEN regexp_matches(${x}, ${sqlString(SLOW_LOWER)}) THEN lower(${fixed}) ELSE lower(${x}) END`;
}

/**
 * `x.toLowerCase()` as far as comparisons with these (lower-case) literals can tell: when they
 * are all ASCII, only `İ` lowers differently in DuckDB in a way they could see (the other
 * differences give non-ASCII characters either way), so plain lower() does, much cheaper.
 */
export function sqlLowerJsFor(x: string, literals: readonly string[]): string {
  const ascii = (l: string) => [...l].every((ch) => (ch.codePointAt(0) as number) < 0x80);
  if (!literals.every(ascii)) return sqlLowerJs(x);
  return `lower(CASE WHEN contains(${x}, 'İ') THEN replace(${x}, 'İ', ${sqlString('İ'.toLowerCase())}) ELSE ${x} END)`;
}

/** The values a leaf compares with, lower-cased as the interpreter lower-cases them. */
function literalsOf(c: Extract<Condition, { field: string }>): string[] {
  const values = Array.isArray(c.value) ? c.value : c.value === undefined ? [] : [c.value];
  return values.map((v) => String(v).toLowerCase());
}

/**
 * `Number(s)` for a string, when finite (else NULL): JavaScript's StringNumericLiteral —
 * decimal with optional exponent, 0x/0o/0b integers, surrounding whitespace, '' as 0.
 */
export function sqlJsNumber(s: string): string {
  const decimal = '[+-]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][+-]?[0-9]+)?';
  // Integers in base 16, 8, 2: summed exactly (HUGEINT), then rounded once to a double.
  const based = (prefix: string, digits: string, base: number, max: number) =>
    `WHEN regexp_full_match(t, '0[${prefix}${prefix.toUpperCase()}][${digits}]{1,${max}}') THEN
      list_reduce(list_transform(string_split(lower(substr(t, 3)), ''), d -> (strpos('0123456789abcdef', d) - 1)::HUGEINT),
        (acc, d) -> acc * ${base} + d, 0::HUGEINT)::DOUBLE`;
  return `list_transform([${sqlTrimJs(s)}], t -> CASE WHEN t IS NULL THEN NULL WHEN t = '' THEN 0::DOUBLE
    WHEN regexp_full_match(t, '${decimal}') THEN CASE WHEN isfinite(TRY_CAST(t AS DOUBLE)) THEN TRY_CAST(t AS DOUBLE) END
    ${based('x', '0-9a-fA-F', 16, 31)} ${based('o', '0-7', 8, 42)} ${based('b', '01', 2, 126)}
    ELSE NULL END)[1]`;
}

// ---------------------------------------------------------------------------------------------
// Source categories

/** GA4's source categories: the tables of source-categories.ts, compiled below. */
export { CATEGORY_TABLES };

const SEARCH: SourceCategory = 'SOURCE_CATEGORY_SEARCH';
const CATEGORIES: SourceCategory[] = [
  SEARCH,
  'SOURCE_CATEGORY_SOCIAL',
  'SOURCE_CATEGORY_VIDEO',
  'SOURCE_CATEGORY_SHOPPING',
];

const inList = (x: string, values: readonly string[]): string =>
  values.length === 0 ? 'FALSE' : `${x} IN (${values.map(sqlString).join(', ')})`;

const escapeRe = (s: string) => s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/** `registrableName(host)` (source-categories.ts): `uk.search.yahoo.com` → yahoo, `google.co.uk` → google. */
export function sqlRegistrableName(host: string): string {
  const second = CATEGORY_TABLES.secondLevel.map(escapeRe).join('|');
  // The leftmost label followed only by second-level labels and the last label (a match starts
  // at a label's beginning: one starting inside a label would also match from its beginning).
  return `CASE WHEN contains(${host}, '.') THEN regexp_extract(${host}, '([^.]*)(?:[.](?:${second}))*[.][^.]*$', 1) END`;
}

/** The category a host (lower-case, without `www.`) resolves to, as SQL text, or NULL. */
function categoryOfHost(h: string): string {
  const byCategory = (table: Record<string, SourceCategory | null>, x: string) =>
    CATEGORIES.map((c) => {
      const keys = Object.keys(table).filter((k) => table[k] === c);
      return keys.length ? `WHEN ${inList(x, keys)} THEN '${c}'` : '';
    }).join(' ');
  const exactNull = Object.keys(CATEGORY_TABLES.exact).filter((k) => CATEGORY_TABLES.exact[k] === null);
  const name = sqlRegistrableName(h);
  return `CASE ${byCategory(CATEGORY_TABLES.exact, h)} WHEN ${inList(h, exactNull)} THEN NULL
    ${byCategory(CATEGORY_TABLES.brands, h)}
    ELSE CASE ${byCategory(CATEGORY_TABLES.brands, name)} ELSE NULL END END`;
}

/** `sourceCategoryOf(String(x))`: trimmed, lower-cased, `www.` dropped, exact hosts before brands. */
export function sqlSourceCategory(x: string): string {
  // Each step bound once (a one-element list through a lambda).
  return `list_transform([${sqlTrimJs(x)}], t -> list_transform([${sqlLowerJs('t')}],
    k -> list_transform([CASE WHEN starts_with(k, 'www.') THEN substr(k, 5) ELSE k END],
      h -> ${categoryOfHost('h')})[1])[1])[1]`;
}

// ---------------------------------------------------------------------------------------------
// Fields

/** A field's value in SQL: its text (`String(v)`, NULL when missing) and its number (JavaScript's). */
export interface FieldSql {
  text: string;
  /** The value as a finite number for gt/gte/lt/lte (NULL: not comparable). */
  num: string;
  /** The text lower-cased as JavaScript does, when already computed (else `sqlLowerJs(text)`). */
  lowered?: string;
}

/** The `event_facts` column behind each touch fact (the columns of migration 005). */
export const FACT_COLUMNS = {
  pageUrl: 'page_url',
  pageHost: 'page_host',
  pagePath: 'page_path',
  hasPage: 'has_page',
  referrerHost: 'referrer_host',
  clickId: 'click_id',
  gadSource: 'gad_source',
  selfReported: 'self_reported',
  promoCode: 'promo_code',
} as const;

/** Columns the derived layer adds (names never clash with event_facts columns). */
const DERIVED = {
  internal: 'd_internal',
  bare: 'd_referrer_bare',
  searchEngine: 'd_search_engine',
  source: 'source',
  medium: 'medium',
  referringDomain: 'referring_domain',
  arrival: 'arrival',
} as const;

/** The SQL column (over the derived relation) of each rule field. */
const FIELD_COLUMNS: Record<RuleField, string> = {
  source: DERIVED.source,
  medium: DERIVED.medium,
  campaign: 'utm_campaign',
  content: 'utm_content',
  term: 'utm_term',
  utm_source: 'utm_source',
  utm_medium: 'utm_medium',
  utm_campaign: 'utm_campaign',
  referring_domain: DERIVED.referringDomain,
  landing_url: FACT_COLUMNS.pageUrl,
  landing_path: FACT_COLUMNS.pagePath,
  ...(Object.fromEntries(CLICK_IDS.map((id) => [id, id])) as Record<ClickId, string>),
  gad_source: FACT_COLUMNS.gadSource,
  self_reported: FACT_COLUMNS.selfReported,
  promo_code: FACT_COLUMNS.promoCode,
  arrival: DERIVED.arrival,
  event: 'event',
  type: 'type',
};

/** A JSON pointer for a dotted path (`a.b` → `/a/b`). */
const pointer = (segments: string[]) =>
  segments.map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/**
 * `messageField` (touch-fields.ts) in SQL: a scalar at a path of the event's JSON, walking
 * objects only (a numeric key does not index an array).
 */
export function messageFieldSql(root: JsonRoot, path: string, events: string): FieldSql {
  const doc = `${events}.${root}`;
  const segments = path.split('.');
  const ptr = sqlString(pointer(segments));
  const guards = segments
    .map((s, i) =>
      /^(?:[0-9]+|-)$/.test(s)
        ? `json_type(${doc}, ${sqlString(pointer(segments.slice(0, i)))}) = 'OBJECT'`
        : null,
    )
    .filter((g) => g !== null);
  const type = `json_type(${doc}, ${ptr})`;
  const guarded = (x: string) => (guards.length ? `CASE WHEN ${guards.join(' AND ')} THEN ${x} END` : x);
  const string = `json_extract_string(${doc}, ${ptr})`;
  const numberText = sqlNumberText(`json_extract(${doc}, ${ptr})::VARCHAR`);
  return {
    text: guarded(`CASE ${type} WHEN 'VARCHAR' THEN ${string} WHEN 'BOOLEAN' THEN ${string}
      WHEN 'BIGINT' THEN ${numberText} WHEN 'UBIGINT' THEN ${numberText} WHEN 'DOUBLE' THEN ${numberText}
      WHEN 'HUGEINT' THEN ${numberText} ELSE NULL END`),
    num: guarded(`CASE ${type} WHEN 'VARCHAR' THEN CASE WHEN ${string} <> '' THEN ${sqlJsNumber(string)} END
      WHEN 'BIGINT' THEN TRY_CAST(${numberText} AS DOUBLE) WHEN 'UBIGINT' THEN TRY_CAST(${numberText} AS DOUBLE)
      WHEN 'DOUBLE' THEN TRY_CAST(${numberText} AS DOUBLE) WHEN 'HUGEINT' THEN TRY_CAST(${numberText} AS DOUBLE)
      ELSE NULL END`),
  };
}

// ---------------------------------------------------------------------------------------------
// Conditions

/** How a condition reaches its fields: their SQL, their category, or a leaf already evaluated. */
export interface FieldResolver {
  field(name: string): FieldSql;
  /** The column holding `sourceCategoryOf` of a field. */
  category(name: string): string;
  /** A column already holding this leaf's result (evaluated elsewhere), or null. */
  leaf?(leaf: Leaf): string | null;
}

type Leaf = Extract<Condition, { field: string }>;

const NEVER = 'FALSE';

/**
 * A condition as a SQL boolean that is never NULL, with the interpreter's semantics
 * (conditions.ts `compileLeaf`): values lower-cased, regexes case-insensitive RE2, numbers
 * compared as JavaScript would. The condition must have been compiled by `compileCondition`
 * first (which validates it).
 */
export function conditionSql(c: Condition, fields: FieldResolver): string {
  if ('else' in c) return 'TRUE';
  if ('all' in c) return `(${c.all.map((p) => conditionSql(p, fields)).join(' AND ')})`;
  if ('any' in c) return `(${c.any.map((p) => conditionSql(p, fields)).join(' OR ')})`;
  if ('not' in c) return `(NOT ${conditionSql(c.not, fields)})`;
  const pushed = fields.leaf?.(c);
  if (pushed) return pushed;
  const { op } = c;
  const f = fields.field(c.field);
  const lowered = () => f.lowered ?? sqlLowerJsFor(f.text, literalsOf(c));
  // A rule value that is not well-formed UTF-16 equals no stored value (those are well-formed).
  const scalar = (): string | null => {
    const v = String(c.value).toLowerCase();
    return v.isWellFormed() ? v : null;
  };
  const compare = (sql: (v: string) => string) => {
    const v = scalar();
    return v === null ? NEVER : `coalesce(${sql(sqlString(v))}, false)`;
  };
  switch (op) {
    case 'present':
      return `(${f.text} IS NOT NULL AND ${f.text} <> '')`;
    case 'absent':
      return `(${f.text} IS NULL OR ${f.text} = '')`;
    case 'eq':
      return compare((v) => `${lowered()} = ${v}`);
    case 'neq': {
      const v = scalar();
      return v === null ? 'TRUE' : `(${lowered()} IS DISTINCT FROM ${sqlString(v)})`;
    }
    case 'in': {
      const values = [
        ...new Set((c.value as (string | number)[]).map((v) => String(v).toLowerCase())),
      ].filter((v) => v.isWellFormed());
      return values.length === 0 ? NEVER : `coalesce(${inList(lowered(), values)}, false)`;
    }
    case 'contains':
      return compare((v) => `contains(${lowered()}, ${v})`);
    case 'starts_with':
      return compare((v) => `starts_with(${lowered()}, ${v})`);
    case 'ends_with':
      return compare((v) => `ends_with(${lowered()}, ${v})`);
    case 'regex':
      return `coalesce(regexp_matches(${f.text}, ${sqlString(c.value as string)}, 'i'), false)`;
    case 'in_category':
      return `coalesce(${fields.category(c.field)} = ${sqlString(c.value as string)}, false)`;
    case 'gt':
      return `coalesce(${f.num} > ${sqlNumber(c.value as number)}, false)`;
    case 'gte':
      return `coalesce(${f.num} >= ${sqlNumber(c.value as number)}, false)`;
    case 'lt':
      return `coalesce(${f.num} < ${sqlNumber(c.value as number)}, false)`;
    case 'lte':
      return `coalesce(${f.num} <= ${sqlNumber(c.value as number)}, false)`;
  }
}

// ---------------------------------------------------------------------------------------------
// Channel queries

export interface ChannelQueryOptions {
  /** The facts relation (default `event_facts`, alias `f`). */
  facts?: string;
  /** The events relation joined for `properties.*`, `traits.*`, `context.*` fields (default `events`). */
  events?: string;
  /** A filter on the facts (alias `f`), e.g. `f.workspace_id = $ws`. */
  where?: string;
  /**
   * `events` (default): one row per event (`workspace_id`, `seq` and the outputs);
   * `counts`: one row per distinct combination of the facts the rules read, with `n` events
   * (sum `n` grouped by `channel` for counts by channel).
   */
  shape?: 'events' | 'counts';
}

export interface ChannelQuery {
  /**
   * The SELECT. Outputs: `source`, `medium`, `referring_domain`, `arrival` (the derived
   * fields), `arrival_rule` / `channel` (what the event arrives through: every rule, else
   * `Unassigned`), `event_rule` / `event_channel` (the event-scope rule it matches, else NULL:
   * not a touchpoint by itself).
   */
  sql: string;
  /** The fact columns the classification reads (its key). */
  keys: string[];
  /** Whether the query joins the events table (a rule names a `properties.*`… field). */
  joinsEvents: boolean;
}

interface ParsedRule {
  channel: string;
  scope: 'arrival' | 'event';
  when: Condition;
}

/** Validates rules exactly as `ChannelRules.compile` does (same errors), keeping the parsed form. */
function parsedRules(rules: readonly ChannelRule[]): ParsedRule[] {
  return rules.map((r, index) => {
    const parsed = parseRules(channelRuleSchema, r, `rules[${index}]`);
    compileCondition(parsed.when as Condition, `rules[${index}].when`);
    return { channel: parsed.channel, scope: parsed.scope, when: parsed.when as Condition };
  });
}

/** The fact columns the derived fields read. */
const DERIVED_INPUTS = [
  'type',
  FACT_COLUMNS.hasPage,
  FACT_COLUMNS.referrerHost,
  FACT_COLUMNS.pageHost,
  'utm_source',
  'utm_medium',
  'utm_campaign',
  FACT_COLUMNS.clickId,
];

/** The settings-dependent touch fields (touch-fields.ts `touchFieldsFromFacts`) in SQL, in layers. */
/** `isInternalReferrer` (touch-fields.ts) over fact columns (`prefix`: a relation alias and dot). */
function internalSql(touch: TouchOptions, prefix = ''): string {
  const host = `${prefix}${FACT_COLUMNS.referrerHost}`;
  const matches = (list: readonly string[]) =>
    list.map((d) => `${host} = ${sqlString(d)} OR ends_with(${host}, ${sqlString(`.${d}`)})`);
  return `coalesce(${host} IS NOT NULL AND (${[
    `${host} = ${prefix}${FACT_COLUMNS.pageHost}`,
    ...matches(touch.ownDomains),
    ...matches(touch.ignoreReferrers),
  ].join(' OR ')}), false)`;
}

/** The arrival (touch-fields.ts `touchFieldsFromFacts`) over fact columns, for one event. */
function arrivalSql(touch: TouchOptions, prefix: string): string {
  const c = (column: string) => `${prefix}${column}`;
  const campaign = ['utm_source', 'utm_medium', 'utm_campaign', FACT_COLUMNS.clickId]
    .map((x) => `${c(x)} IS NOT NULL`)
    .join(' OR ');
  return `CASE WHEN ${c('type')} <> 'page' AND ${c('type')} <> 'screen' THEN 'none' WHEN ${campaign} THEN 'campaign'
    WHEN ${internalSql(touch, prefix)} THEN 'internal' WHEN ${c(FACT_COLUMNS.referrerHost)} IS NOT NULL THEN 'referral'
    ELSE 'direct' END`;
}

function derivedLayers(touch: TouchOptions): string[][] {
  const host = FACT_COLUMNS.referrerHost;
  const internal = internalSql(touch);
  const bare = `CASE WHEN starts_with(${host}, 'www.') THEN substr(${host}, 5) ELSE ${host} END`;
  // Search engines are reported by name: www.google.co.uk → google.
  const name = sqlRegistrableName(DERIVED.bare);
  const searchEngine = `CASE WHEN ${host} IS NOT NULL AND NOT ${DERIVED.internal}
      AND ${sqlSourceCategory(DERIVED.bare)} = '${SEARCH}'
    THEN CASE WHEN ${name} IS NULL OR ${name} = 'search' THEN ${DERIVED.bare} ELSE ${name} END END`;
  const byClick = (pick: 0 | 1) =>
    Object.entries(CLICK_SOURCE)
      .map(
        ([id, pair]) =>
          `WHEN ${FACT_COLUMNS.clickId} = ${sqlString(id)} THEN ${sqlString((pair as readonly string[])[pick] as string)}`,
      )
      .join(' ');
  const utm = 'utm_source IS NOT NULL OR utm_medium IS NOT NULL';
  const fromReferrer = `${host} IS NOT NULL AND NOT ${DERIVED.internal}`;
  const source = `CASE WHEN ${utm} THEN coalesce(utm_source, '(not set)') ${byClick(0)}
    WHEN ${fromReferrer} THEN coalesce(${DERIVED.searchEngine}, ${DERIVED.bare}) ELSE '(direct)' END`;
  const medium = `CASE WHEN ${utm} THEN coalesce(utm_medium, '(not set)') ${byClick(1)}
    WHEN ${fromReferrer} THEN CASE WHEN ${DERIVED.searchEngine} IS NOT NULL THEN 'organic' ELSE 'referral' END
    ELSE '(none)' END`;
  const referringDomain = `CASE WHEN NOT ${FACT_COLUMNS.hasPage} THEN NULL
    WHEN ${host} IS NULL OR ${DERIVED.internal} THEN '$direct' ELSE ${host} END`;
  const campaign = `utm_source IS NOT NULL OR utm_medium IS NOT NULL OR utm_campaign IS NOT NULL OR ${FACT_COLUMNS.clickId} IS NOT NULL`;
  const arrival = `CASE WHEN type NOT IN ('page', 'screen') THEN 'none' WHEN ${campaign} THEN 'campaign'
    WHEN ${DERIVED.internal} THEN 'internal' WHEN ${host} IS NOT NULL THEN 'referral' ELSE 'direct' END`;
  return [
    [`${internal} AS ${DERIVED.internal}`, `${bare} AS ${DERIVED.bare}`],
    [`${searchEngine} AS ${DERIVED.searchEngine}`],
    [
      `${source} AS ${DERIVED.source}`,
      `${medium} AS ${DERIVED.medium}`,
      `${referringDomain} AS ${DERIVED.referringDomain}`,
      `${arrival} AS ${DERIVED.arrival}`,
    ],
  ];
}

/** Per key: the lower-cased fields, the categories of fields (lists, see compileChannelQuery). */
const LOWERED = 'lowered_fields';
const CATEGORIZED = 'field_categories';

/** What the classification outputs. */
const OUTPUTS = [
  DERIVED.source,
  DERIVED.medium,
  DERIVED.referringDomain,
  DERIVED.arrival,
  'arrival_rule',
  'channel',
  'event_rule',
  'event_channel',
];

/**
 * Fields whose values are nearly unique per event (URLs, click ids): a leaf on them is evaluated
 * per event and only its result joins the key, so the key stays small.
 */
const PER_EVENT_FIELDS = new Set<string>(['landing_url', 'landing_path', ...CLICK_IDS]);

/** Text a stored JSON part must contain for a key to be in it (JSON.stringify writes keys so). */
function keyNeedle(key: string): string | null {
  return /^[A-Za-z0-9_$@ .-]+$/.test(key) ? `"${key}":` : null;
}

/** Ops cheap enough to run on every event as a guard. */
const GUARD_OPS = new Set(['eq', 'neq', 'in', 'present', 'absent', 'starts_with', 'ends_with', 'contains']);

const isPerEventLeaf = (c: Leaf) => {
  const dot = c.field.indexOf('.');
  return (
    PER_EVENT_FIELDS.has(c.field) ||
    (dot > 0 && (MESSAGE_FIELD_ROOTS as readonly string[]).includes(c.field.slice(0, dot)))
  );
};

const leafId = (c: Leaf) => JSON.stringify([c.field, c.op, c.value]);

/**
 * Guards of the leaves evaluated per event: a leaf inside `all: [g, …, leaf]` cannot change the
 * result where `g` is false, whatever lies around that `all` (`any`, `not`, other `all`s). `g`
 * qualifies when facts alone decide it, cheaply (a fact column, or `arrival`). A leaf's guard is
 * the OR of its occurrences' (null: some occurrence has none).
 */
function guardsOf(rules: readonly ParsedRule[], touch: TouchOptions) {
  const guardable = (c: Condition): c is Leaf =>
    'field' in c &&
    GUARD_OPS.has(c.op) &&
    !isPerEventLeaf(c) &&
    (c.field === 'arrival' ||
      ((RULE_FIELDS as readonly string[]).includes(c.field) &&
        !Object.values(DERIVED).includes(FIELD_COLUMNS[c.field as RuleField] as never)));
  const occurrences = new Map<string, Leaf[][]>();
  const walk = (c: Condition, around: Leaf[]) => {
    if ('all' in c) {
      const siblings = c.all.filter(guardable);
      for (const child of c.all) walk(child, [...around, ...siblings.filter((s) => s !== child)]);
    } else if ('any' in c) for (const child of c.any) walk(child, around);
    else if ('not' in c) walk(c.not, around);
    else if ('field' in c && isPerEventLeaf(c)) {
      const list = occurrences.get(leafId(c)) ?? [];
      list.push(around);
      occurrences.set(leafId(c), list);
    }
  };
  for (const r of rules) walk(r.when, []);
  return (id: string): ((prefix: string) => string) | null => {
    const list = occurrences.get(id) ?? [];
    if (list.length === 0 || list.some((g) => g.length === 0)) return null;
    return (prefix) => {
      const resolver: FieldResolver = {
        field: (name) =>
          name === 'arrival'
            ? { text: `(${arrivalSql(touch, prefix)})`, num: 'NULL' }
            : {
                text: `${prefix}${FIELD_COLUMNS[name as RuleField]}`,
                num: sqlJsNumber(`${prefix}${FIELD_COLUMNS[name as RuleField]}`),
              },
        category: () => 'NULL',
      };
      return list.map((g) => `(${g.map((leaf) => conditionSql(leaf, resolver)).join(' AND ')})`).join(' OR ');
    };
  };
}

/**
 * Compiles channel rules (a workspace's effective list, in order: `effectiveChannelRules`) and
 * its touch options to one SELECT over `event_facts`. Throws RuleError for a rule the
 * interpreter would refuse, with the same message.
 *
 * The classification runs once per distinct key — the fact columns the derived fields and the
 * rules read, with leaves on near-unique fields (`landing_url`, click ids, `properties.*`…)
 * reduced to their result per event — then joins back to the events (`events` shape) or keeps
 * the count of each key (`counts` shape). Message fields are read only from events whose JSON
 * text can hold the key.
 */
export function compileChannelQuery(
  rules: readonly ChannelRule[],
  touch: TouchOptions,
  options: ChannelQueryOptions = {},
): ChannelQuery {
  const parsed = parsedRules(rules);
  const keys = new Set<string>(DERIVED_INPUTS);
  const categories = new Map<string, string>();
  // Leaves evaluated per event: on facts (`row`) or on the events' JSON (`message`).
  const pushed = new Map<string, { alias: string; sql: string; message: boolean; missing: boolean }>();
  /** Per JSON part, the texts that must occur for a message field to be there (null: any event). */
  const needles = new Map<string, Set<string | null>>();

  // Columns lowered (and categorised) once per key, all through one lambda each, so that the
  // long patterns of sqlLowerJs appear once in the query.
  const lowered: string[] = [];
  const lowerOf = (column: string) => {
    let i = lowered.indexOf(column);
    if (i < 0) i = lowered.push(column) - 1;
    return `${LOWERED}[${i + 1}]`;
  };
  const factField = (name: string): FieldSql => {
    const column = FIELD_COLUMNS[name as RuleField];
    return { text: column, num: sqlJsNumber(column) };
  };
  const resolver: FieldResolver = {
    field: (name) => {
      if ((RULE_FIELDS as readonly string[]).includes(name)) {
        const field = factField(name);
        if (!Object.values(DERIVED).includes(field.text as never)) keys.add(field.text);
        return { ...field, lowered: lowerOf(field.text) };
      }
      return { text: 'NULL', num: 'NULL' };
    },
    category: (name) => {
      let i = [...categories.keys()].indexOf(name);
      if (i < 0) {
        categories.set(name, FIELD_COLUMNS[name as RuleField] ?? 'NULL');
        i = categories.size - 1;
      }
      return `${CATEGORIZED}[${i + 1}]`;
    },
    leaf: (leaf) => {
      const dot = leaf.field.indexOf('.');
      const root = leaf.field.slice(0, dot);
      const message = dot > 0 && (MESSAGE_FIELD_ROOTS as readonly string[]).includes(root);
      if (!isPerEventLeaf(leaf)) return null;
      const id = leafId(leaf);
      let p = pushed.get(id);
      if (!p) {
        const alias = `l_${pushed.size}`;
        const field = message
          ? messageFieldSql(root as JsonRoot, leaf.field.slice(dot + 1), 'e')
          : {
              text: `f.${FIELD_COLUMNS[leaf.field as RuleField]}`,
              num: sqlJsNumber(`f.${FIELD_COLUMNS[leaf.field as RuleField]}`),
            };
        const sql = conditionSql(leaf, { field: () => field, category: () => sqlSourceCategory(field.text) });
        // What the leaf gives an event without the value (not read: no such key in its JSON).
        const missing = compileCondition(leaf)(() => null);
        p = { alias, sql, message, missing };
        pushed.set(id, p);
        if (message) {
          const set = needles.get(root) ?? new Set();
          set.add(keyNeedle(leaf.field.split('.').pop() as string));
          needles.set(root, set);
        }
      }
      return p.alias;
    },
  };
  const tests = parsed.map((r) => conditionSql(r.when, resolver));
  const guards = guardsOf(parsed, touch);
  const caseOf = (indexes: number[], otherwise: string) =>
    indexes.length === 0
      ? otherwise
      : `CASE ${indexes.map((i) => `WHEN ${tests[i]} THEN ${i}`).join(' ')} ELSE ${otherwise} END`;
  const channelOf = (rule: string, otherwise: string) =>
    parsed.length === 0
      ? otherwise
      : `CASE ${rule} ${parsed.map((r, i) => `WHEN ${i} THEN ${sqlString(r.channel)}`).join(' ')} ELSE ${otherwise} END`;
  const all = parsed.map((_, i) => i);
  const eventRules = all.filter((i) => parsed[i]?.scope === 'event');

  const leaves = [...pushed.entries()].map(([id, l]) => ({ ...l, guard: guards(id) }));
  const messageLeaves = leaves.filter((l) => l.message);
  const keyColumns = [...keys, ...leaves.map((l) => l.alias)];
  const joinsEvents = messageLeaves.length > 0;
  const facts = options.facts ?? 'event_facts';
  let from = `${facts} f`;
  if (joinsEvents) {
    const any = [...needles.values()].some((set) => set.has(null));
    const prefilter = any
      ? 'TRUE'
      : `(${[...needles.entries()]
          .flatMap(([root, set]) =>
            [...set].map((n) => `contains(e.${root}::VARCHAR, ${sqlString(n as string)})`),
          )
          .join(' OR ')})`;
    // When every message leaf has a guard, only the events it admits are read: joined from the
    // guarded facts, so that DuckDB skips the rest of the events table. Otherwise every event
    // whose JSON text can hold a key is parsed.
    const messageGuards = messageLeaves.map((l) => l.guard);
    const events = options.events ?? 'events';
    const read = messageGuards.every((g) => g !== null)
      ? `(SELECT g.seq, g.workspace_id FROM ${facts} g WHERE ${[...new Set(messageGuards.map((g) => `(${g?.('g.')})`))].join(' OR ')}) g
         JOIN ${events} e ON e.seq = g.seq AND e.workspace_id = g.workspace_id`
      : `${events} e WHERE ${prefilter}`;
    from += ` LEFT JOIN (SELECT e.workspace_id, e.seq, ${messageLeaves.map((l) => `${l.sql} AS ${l.alias}`).join(', ')}
      FROM ${read}) m ON m.seq = f.seq AND m.workspace_id = f.workspace_id`;
  }
  // A leaf evaluated per event is read only where its guard holds (elsewhere it cannot matter);
  // each distinct guard is computed once per event (`guard_<i>`).
  const guardColumns: string[] = [];
  const guarded = (guard: ((prefix: string) => string) | null, sql: string) => {
    if (guard === null) return sql;
    const text = guard('f.');
    let i = guardColumns.indexOf(text);
    if (i < 0) i = guardColumns.push(text) - 1;
    return `CASE WHEN guard_${i} THEN ${sql} ELSE false END`;
  };
  const leafColumns = leaves.map(
    (l) => `${guarded(l.guard, l.message ? `coalesce(f.${l.alias}, ${l.missing})` : l.sql)} AS ${l.alias}`,
  );
  const guardedFrom = `(SELECT f.*, ${messageLeaves.map((l) => `m.${l.alias}, `).join('')}
      ${guardColumns.map((g, i) => `${g} AS guard_${i}`).join(', ') || 'NULL AS guard_none'}
    FROM ${from}${options.where ? ` WHERE ${options.where}` : ''}) f`;
  const base = `SELECT f.workspace_id, f.seq, ${[...[...keys].map((k) => `f.${k}`), ...leafColumns].join(
    ', ',
  )} FROM ${guardedFrom}`;
  const counts = options.shape === 'counts';
  const distinct = counts
    ? `SELECT ${keyColumns.join(', ')}, count(*) AS n FROM base GROUP BY ALL`
    : `SELECT DISTINCT ${keyColumns.join(', ')} FROM base`;

  const layer = (columns: string[], inner: string) =>
    columns.length === 0 ? inner : `(SELECT *, ${columns.join(', ')} FROM ${inner})`;
  let classified = '(SELECT * FROM keyed)';
  for (const columns of derivedLayers(touch)) classified = layer(columns, classified);
  classified = layer(
    [
      ...(lowered.length
        ? [`list_transform([${lowered.join(', ')}], x -> ${sqlLowerJs('x')}) AS ${LOWERED}`]
        : []),
      ...(categories.size
        ? [
            `list_transform([${[...categories.values()].join(', ')}], x -> ${sqlSourceCategory('x')}) AS ${CATEGORIZED}`,
          ]
        : []),
    ],
    classified,
  );
  classified = layer(
    [`${caseOf(all, '-1')} AS arrival_rule`, `${caseOf(eventRules, 'NULL')} AS event_rule`],
    classified,
  );
  // row_number() without PARTITION BY fences the classification off: a filter the caller puts on
  // an output is not pushed down into the rule expressions (DuckDB's optimizer then spends seconds
  // on them, and evaluates them per event).
  classified = `SELECT ${keyColumns.join(', ')}, ${counts ? 'n, ' : ''}${OUTPUTS.slice(0, 5).join(', ')},
      ${channelOf('arrival_rule', "'Unassigned'")} AS channel, event_rule, ${channelOf('event_rule', 'NULL')} AS event_channel,
      row_number() OVER () AS key_id
    FROM ${classified}`;
  const sql = counts
    ? `WITH base AS (${base}), keyed AS (${distinct}) ${classified}`
    : `WITH base AS MATERIALIZED (${base}), keyed AS (${distinct}), classified AS (${classified})
      SELECT b.workspace_id, b.seq, ${OUTPUTS.map((o) => `c.${o}`).join(', ')}
      FROM base b JOIN classified c ON ${keyColumns.map((k) => `b.${k} IS NOT DISTINCT FROM c.${k}`).join(' AND ')}`;
  return { sql, keys: keyColumns, joinsEvents };
}

/** The channel query of a workspace's settings (its effective rules and touch options). */
export function channelQueryOf(settings: JourneySettings, options: ChannelQueryOptions = {}): ChannelQuery {
  return compileChannelQuery(
    effectiveChannelRules(settings.channels),
    { ownDomains: settings.ownDomains, ignoreReferrers: settings.ignoreReferrers },
    options,
  );
}
