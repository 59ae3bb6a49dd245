import type { DuckDBConnection } from '@duckdb/node-api';
import { isBotUserAgent } from '../core/journey/bots.js';
import { sqlJsNumber, sqlNumberText, sqlString, sqlTextOfString } from '../core/journey/rules-sql.js';
import {
  CAMPAIGN_OBJECT,
  CLICK_ID_SOURCES,
  CLICK_IDS,
  type EventFacts,
  eventFactsOf,
  GAD_SOURCE_PARAM,
  type JsonRoot,
  type JsonSource,
  PAGE_OBJECT,
  TOUCH_INPUTS,
  UTM_PARAMS,
} from '../core/journey/touch-fields.js';
import { EVENT_COLUMNS, rowToEvent } from './event-rows.js';

/**
 * `event_facts` (migration 005): each event's immutable facts as typed columns, extracted by
 * SQL from the events just loaded, in the loader's transaction. The extraction is generated from
 * core/journey/touch-fields.ts (where each input is read) and gives exactly what its JavaScript
 * extraction (`eventFactsOf`) gives:
 *
 * - JSON values are read as `textOf` reads them (trimmed; '', 'null', 'undefined' missing;
 *   numbers as JavaScript prints them);
 * - URLs are parsed in SQL when they are plain `http(s)://host[:port]/path?query#fragment`
 *   with nothing a WHATWG parser would rewrite (no dot segments, IDNA or IPv4 hosts, control
 *   characters…), and query values are decoded as URLSearchParams decodes them;
 * - any other row (an app referrer such as `android-app://…`, a percent-encoded parameter
 *   name, invalid UTF-8 after decoding, an object or a double where text was expected…) is
 *   marked and extracted again by JavaScript, in the same transaction. Real traffic has few of
 *   these; the simulator none.
 *
 * Small loads (up to SMALL_BATCH seqs) are extracted by JavaScript altogether. The user-agent
 * class (bot or not) is isbot's verdict (core/journey/bots.ts), taken in JavaScript over the
 * distinct user agents of the batch.
 */

/** The table's columns and types, in order (migration 005). */
export const EVENT_FACTS_COLUMNS: readonly (readonly [string, string])[] = [
  ['workspace_id', 'VARCHAR'],
  ['seq', 'BIGINT'],
  ['type', 'VARCHAR'],
  ['event', 'VARCHAR'],
  ['timestamp', 'TIMESTAMP'],
  ['group_id', 'VARCHAR'],
  ['page_url', 'VARCHAR'],
  ['page_host', 'VARCHAR'],
  ['page_path', 'VARCHAR'],
  ['has_page', 'BOOLEAN'],
  ['referrer_host', 'VARCHAR'],
  ...UTM_PARAMS.map(([param]) => [param, 'VARCHAR'] as const),
  ['click_id', 'VARCHAR'],
  ...CLICK_IDS.map((id) => [id, 'VARCHAR'] as const),
  ['gad_source', 'VARCHAR'],
  ['self_reported', 'VARCHAR'],
  ['promo_code', 'VARCHAR'],
  ['user_agent', 'VARCHAR'],
  ['interactive', 'BOOLEAN'],
  ['is_bot', 'BOOLEAN'],
  ['revenue', 'DOUBLE'],
  ['extracted_in_js', 'BOOLEAN'],
];

/**
 * identity/profile.ts `revenueOf`: the property an event books when `revenue` is missing. A copy,
 * because profile.ts does not export it (facts-loader.test.ts fails when the two differ).
 */
export const REVENUE_FALLBACK: Record<string, string> = {
  'Order Completed': 'total',
  'Deal Closed Won': 'amount',
  'Order Refunded': 'total',
};
const REFUND = 'Order Refunded';

/**
 * The JSON paths read per part: one `json_transform` per part and row (a single parse), into a
 * struct whose leaves are the values as VARCHAR — strings unescaped, NULL where the path is
 * missing or an object along it is not one (what `pathOf` gives).
 */
class PathTree {
  private readonly paths: string[] = [];
  constructor(readonly root: JsonRoot) {}
  /** The struct access of a path's value in the `raw` layer. */
  at(path: string): string {
    if (!this.paths.includes(path)) this.paths.push(path);
    return `${ALIAS[this.root]}.${path
      .split('.')
      .map((k) => `"${k}"`)
      .join('.')}`;
  }
  /** `json_transform(part, {...})`, or NULL when nothing is read from the part. */
  sql(): string {
    type Tree = { [key: string]: Tree | 'VARCHAR' };
    const tree: Tree = {};
    for (const p of this.paths) {
      const keys = p.split('.');
      let at = tree;
      keys.forEach((k, i) => {
        if (i === keys.length - 1) {
          if (at[k] === undefined) at[k] = 'VARCHAR';
        } else {
          if (typeof at[k] !== 'object') at[k] = {};
          at = at[k] as Tree;
        }
      });
    }
    return this.paths.length === 0
      ? 'NULL'
      : `json_transform(e.${this.root}, ${sqlString(JSON.stringify(tree))})`;
  }
}

const ALIAS: Record<JsonRoot, string> = { context: 'jc', properties: 'jp', traits: 'jt' };

/**
 * `textOf` of a value read as a VARCHAR leaf: the value's own text for strings, booleans and
 * integers. Most values start and end with a visible ASCII character, neither a digit nor a
 * bracket, and spell neither null nor undefined: they are their own text ('' is missing).
 */
function leafText(leaf: string): string {
  // The leaf is bound once (a lambda's parameter): repeated, its expression costs DuckDB more to
  // plan than the rows cost to run.
  const plain = `(ascii(v) >= 58 AND ascii(v) <= 126 OR ascii(v) >= 33 AND ascii(v) <= 44 OR ascii(v) = 47)
    AND ascii(v) <> 91 AND ascii(v) <> 123 AND ascii(right(v, 1)) >= 33 AND ascii(right(v, 1)) <= 126
    AND ((strlen(v) <> 4 AND strlen(v) <> 9) OR (lower(v) <> 'null' AND lower(v) <> 'undefined'))`;
  return `CASE WHEN ${leaf} IS NULL THEN NULL ELSE list_transform([${leaf}],
    v -> CASE WHEN v = '' THEN NULL WHEN ${plain} THEN v ELSE ${sqlTextOfString('v')} END)[1] END`;
}

/**
 * Whether a VARCHAR leaf may not be the value's text: an object or array comes as its JSON
 * (`{…}`, `[…]`), a double as DuckDB writes it (`1.5e-07`; JavaScript writes `1.5e-7`). Such
 * rows (rare) go to the JavaScript extraction.
 */
const unclearLeaf = (leaf: string) => `regexp_matches(${leaf}, '^(?:[[{]|-?[0-9.]+[eE])')`;

/** A URL that needs no WHATWG rewriting: http(s), a plain host, a port up to 65535, a plain path. */
const URL_RE =
  '^[hH][tT][tT][pP][sS]?://[A-Za-z0-9_-]+(?:[.][A-Za-z0-9_-]+)*[.]?' +
  '(?::(?:[0-9]{0,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?' +
  "(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(?:[?][^#\\x00-\\x1f\\x7f]*)?(?:#[^\\x00-\\x1f\\x7f]*)?$";

/**
 * The parts of a URL column that matched URL_RE (`<prefix>_host`, lower-case, and with `path`
 * `<prefix>_path`, `<prefix>_query`), and whether SQL parses it as the WHATWG parser would
 * (`<prefix>_ok`): xn-- labels go through IDNA, a numeric last label makes an IPv4 address, dot
 * segments collapse.
 */
function urlColumns(url: string, prefix: string, path: boolean): { parts: string[]; ok: string } {
  const match = `regexp_full_match(${url}, ${sqlString(URL_RE)})`;
  const parts = [
    `CASE WHEN ${match} THEN lower(regexp_extract(${url}, '^[^:]*://([^/?#:]*)', 1)) END AS ${prefix}_host`,
  ];
  const checks = [
    `${prefix}_host IS NOT NULL`,
    `NOT regexp_matches(${prefix}_host, '(?:^|[.])(?:xn--|(?:[0-9]+|0x[0-9a-f]*)[.]?$)')`,
  ];
  if (path) {
    parts.push(
      `CASE WHEN ${match} THEN regexp_extract(${url}, '^[^:]*://[^/?#]*([^?#]*)', 1) END AS ${prefix}_path`,
      // The query as url.search has it ('' for none or an empty one).
      `CASE WHEN ${match} THEN regexp_extract(${url}, '^[^#?]*[?]([^#]*)', 1) END AS ${prefix}_query`,
    );
    checks.push(`NOT regexp_matches(${prefix}_path, '(?:^|/)(?:[.]|%2[eE]){1,2}(?:/|$)')`);
  }
  return { parts, ok: `coalesce(${checks.join(' AND ')}, false) AS ${prefix}_ok` };
}

/** Query parameters the facts read: UTM, click ids and gad_source. */
const PARAMS = [...UTM_PARAMS.map(([param]) => param), ...CLICK_IDS, GAD_SOURCE_PARAM];

/**
 * The SELECT of every event_facts column for the events `e` in (`$after`, `$last`], with the
 * rows SQL cannot be sure of marked `extracted_in_js` (and `is_bot` false: set afterwards).
 */
export function factsExtractionSql(): string {
  const trees: Record<JsonRoot, PathTree> = {
    context: new PathTree('context'),
    properties: new PathTree('properties'),
    traits: new PathTree('traits'),
  };
  const leaves: string[] = [];
  const textOfSource = (s: JsonSource) => {
    const leaf = trees[s.root].at(s.path);
    if (!leaves.includes(leaf)) leaves.push(leaf);
    return leafText(leaf);
  };
  // Sources in order, each read only when the ones before it gave nothing (coalesce is lazy).
  const text = (sources: readonly JsonSource[]) =>
    `coalesce(${sources.map((s) => (s.views ? `CASE WHEN is_view THEN ${textOfSource(s)} END` : textOfSource(s))).join(', ')})`;
  const campaign = (key: string) =>
    textOfSource({ root: CAMPAIGN_OBJECT.root, path: `${CAMPAIGN_OBJECT.path}.${key}` });

  const inputs = [
    ...(['url', 'search', 'referrer', 'path', 'userAgent', 'selfReported', 'promoCode'] as const).map(
      (input) => `${text(TOUCH_INPUTS[input])} AS t_${input}`,
    ),
    ...UTM_PARAMS.map(([param, key]) => `${campaign(key)} AS campaign_${param}`),
    ...CLICK_IDS.map((id, i) => `${textOfSource(CLICK_ID_SOURCES[i] as JsonSource)} AS property_${id}`),
    // `context.page`: non-null (a struct), or present as JSON null (only then is the part read again).
    `${trees.context.at(PAGE_OBJECT.path)} IS NOT NULL AS page_value`,
    `${trees.context.at(PAGE_OBJECT.path)} IS NOT NULL OR coalesce(contains(e_context, '"${PAGE_OBJECT.path}":null')
       AND json_type(e_context, '$.${PAGE_OBJECT.path}') = 'NULL', false) AS page_key`,
  ];
  inputs.push(`coalesce(${leaves.map(unclearLeaf).join(' OR ')}, false) AS unclear_leaf`);
  const rawParts = (['context', 'properties', 'traits'] as const).map(
    (root) => `${trees[root].sql()} AS ${ALIAS[root]}`,
  );
  const raw = `SELECT e.workspace_id, e.seq, e.type, coalesce(e.event, e.name) AS event, e.event AS track_event,
      e.timestamp, e.group_id, e.context::VARCHAR AS e_context, e.properties::VARCHAR AS e_properties,
      (e.type = 'page' OR e.type = 'screen') AS is_view, ${rawParts.join(', ')}
    FROM events e WHERE e.seq > $after AND e.seq <= $last`;

  const referrerUrl = `CASE WHEN contains(t_referrer, '://') THEN t_referrer ELSE 'https://' || t_referrer END`;
  const page = urlColumns('t_url', 'page', true);
  const referrer = urlColumns('referrer_url', 'referrer', false);
  const urls = [...page.parts, `${referrerUrl} AS referrer_url`];
  const checked = [page.ok, ...referrer.parts];
  const referrerChecked = [referrer.ok];
  const query = `CASE WHEN t_search IS NOT NULL THEN CASE WHEN starts_with(t_search, '?') THEN substr(t_search, 2) ELSE t_search END
    WHEN page_ok AND page_query <> '' THEN page_query END AS q`;
  // The first pair with the name (URLSearchParams.get); NULL when the query has none.
  const rawParams = PARAMS.map(
    (p) =>
      `CASE WHEN contains(q, ${sqlString(p)}) THEN regexp_extract(q, ${sqlString(`(?:^|&)${p}(?:=([^&]*))?(?:&|$)`)}, 1) END AS raw_${p}`,
  );
  // Decoded as URLSearchParams decodes: + is a space, then percent-decoding.
  const decoded = PARAMS.map(
    (p) =>
      `CASE WHEN NOT (contains(raw_${p}, '%') OR contains(raw_${p}, '+')) THEN raw_${p}
        ELSE try(url_decode(replace(raw_${p}, '+', ' '))) END AS dec_${p}`,
  );
  // A value url_decode refuses (invalid UTF-8, which URLSearchParams replaces with U+FFFD).
  const undecodable = PARAMS.map((p) => `(raw_${p} IS NULL OR dec_${p} IS NOT NULL)`);

  const utm = UTM_PARAMS.map(
    ([param]) => `coalesce(campaign_${param}, ${sqlTextOfString(`dec_${param}`)}) AS ${param}`,
  );
  const clicks = CLICK_IDS.map((id) => `coalesce(${sqlTextOfString(`dec_${id}`)}, property_${id}) AS ${id}`);
  const firstClick = `CASE ${CLICK_IDS.map((id) => `WHEN ${id} IS NOT NULL THEN ${sqlString(id)}`).join(' ')} END`;
  const decidable = [
    'NOT unclear_leaf',
    `(t_url IS NULL OR NOT contains(t_url, ':') OR page_ok)`,
    `(t_referrer IS NULL OR referrer_ok)`,
    `(q IS NULL OR NOT contains(q, '%') OR NOT regexp_matches(q, '(?:^|&)[^&=]*%'))`,
    ...undecodable,
  ].join(' AND ');
  // revenueOf: `revenue`, else the event's fallback property; parsed only when the text holds one.
  const fallbackOf = (key: string) =>
    Object.entries(REVENUE_FALLBACK)
      .filter(([, k]) => k === key)
      .map(([event]) => sqlString(event));
  const revenueKeys = ['revenue', ...new Set(Object.values(REVENUE_FALLBACK))];
  const mayBook = [
    `contains(e_properties, '"revenue"')`,
    ...[...new Set(Object.values(REVENUE_FALLBACK))].map(
      (key) =>
        `((${fallbackOf(key)
          .map((e) => `track_event = ${e}`)
          .join(' OR ')}) AND contains(e_properties, '"${key}"'))`,
    ),
  ].join(' OR ');
  const revenueRaw = `CASE WHEN coalesce(json_type(r[1]) <> 'NULL', false) THEN r[1]
      ${Object.entries(REVENUE_FALLBACK)
        .map(
          ([event, key]) => `WHEN track_event = ${sqlString(event)} THEN r[${revenueKeys.indexOf(key) + 1}]`,
        )
        .join(' ')} END`;
  const revenueNumber = `CASE json_type(j) WHEN 'VARCHAR' THEN ${sqlJsNumber(`json_extract_string(j, '$')`)}
      WHEN 'BIGINT' THEN TRY_CAST(${sqlNumberText('j::VARCHAR')} AS DOUBLE)
      WHEN 'UBIGINT' THEN TRY_CAST(${sqlNumberText('j::VARCHAR')} AS DOUBLE)
      WHEN 'DOUBLE' THEN TRY_CAST(${sqlNumberText('j::VARCHAR')} AS DOUBLE)
      WHEN 'HUGEINT' THEN TRY_CAST(${sqlNumberText('j::VARCHAR')} AS DOUBLE) END`;
  const revenue = `CASE WHEN type = 'track' AND track_event IS NOT NULL AND (${mayBook}) THEN
      list_transform([json_extract(e_properties, [${revenueKeys.map((k) => `'$."${k}"'`).join(', ')}])],
        r -> list_transform([${revenueRaw}], j -> list_transform([${revenueNumber}],
          n -> CASE WHEN track_event = ${sqlString(REFUND)} THEN -abs(n) ELSE n END)[1])[1])[1] END`;

  const columns = [
    'workspace_id',
    'seq',
    'type',
    'event',
    'timestamp',
    'group_id',
    't_url AS page_url',
    'CASE WHEN page_ok THEN page_host END AS page_host',
    `CASE WHEN page_ok THEN CASE WHEN page_path = '' THEN '/' ELSE page_path END ELSE t_path END AS page_path`,
    `(t_url IS NOT NULL OR page_value OR type = 'screen') AS has_page`,
    'CASE WHEN referrer_ok THEN referrer_host END AS referrer_host',
    ...UTM_PARAMS.map(([param]) => param),
    `${firstClick} AS click_id`,
    ...CLICK_IDS,
    `${sqlTextOfString(`dec_${GAD_SOURCE_PARAM}`)} AS gad_source`,
    't_selfReported AS self_reported',
    't_promoCode AS promo_code',
    't_userAgent AS user_agent',
    '(is_view OR t_userAgent IS NOT NULL OR page_key) AS interactive',
    'false AS is_bot',
    `${revenue} AS revenue`,
    `NOT (${decidable}) AS extracted_in_js`,
  ];
  const layer = (select: string[], inner: string) => `SELECT *, ${select.join(', ')} FROM (${inner})`;
  const withTexts = layer(inputs, raw);
  const withUrls = layer(referrerChecked, layer(checked, layer(urls, withTexts)));
  const withParams = layer(decoded, layer(rawParams, layer([query], withUrls)));
  const withValues = layer([...utm, ...clicks], withParams);
  return `SELECT ${columns.join(', ')} FROM (${withValues})`;
}

const EXTRACTION = factsExtractionSql();

/** A row of `eventFactsOf` as the JSON `json_transform` below reads. */
function factsRow(f: EventFacts): Record<string, unknown> {
  return {
    workspace_id: f.workspaceId,
    seq: f.seq,
    type: f.type,
    event: f.event,
    timestamp: f.timestamp,
    group_id: f.groupId,
    page_url: f.pageUrl,
    page_host: f.pageHost,
    page_path: f.pagePath,
    has_page: f.hasPage,
    referrer_host: f.referrerHost,
    ...f.utm,
    click_id: f.clickId,
    ...Object.fromEntries(CLICK_IDS.map((id) => [id, f.clickIds[id] ?? null])),
    gad_source: f.gadSource,
    self_reported: f.selfReported,
    promo_code: f.promoCode,
    user_agent: f.userAgent,
    interactive: f.interactive,
    is_bot: f.isBot,
    revenue: f.revenue,
    extracted_in_js: true,
  };
}

const JSON_SHAPE = `[{${EVENT_FACTS_COLUMNS.map(([name, type]) => `"${name}":"${type === 'TIMESTAMP' ? 'DOUBLE' : type}"`).join(',')}}]`;
const INSERT_JS_ROWS = `INSERT INTO event_facts BY NAME SELECT ${EVENT_FACTS_COLUMNS.map(([name, type]) =>
  type === 'TIMESTAMP' ? `make_timestamp((r.${name} * 1000)::BIGINT) AS ${name}` : `r.${name} AS ${name}`,
).join(', ')} FROM (SELECT unnest(json_transform($rows::JSON, '${JSON_SHAPE}')) AS r)`;

/** Rows extracted by JavaScript per statement. */
const JS_BATCH = 5_000;

/**
 * Up to this many seqs, the JavaScript extraction runs instead of the SQL one: the SQL costs a
 * fixed ~0.1 s to plan and start (long expressions), JavaScript ~15 µs an event on the event
 * loop. Small loads are the loader's usual case between bursts.
 */
export const SMALL_BATCH = 1_000;

export interface FactsFilled {
  events: number;
  /** Rows JavaScript extracted (a small batch, or rows the SQL could not be sure of). */
  inJs: number;
  bots: number;
}

/** Extracts the facts of these stored events in JavaScript and inserts them. */
async function insertByJs(c: DuckDBConnection, rows: unknown[][]): Promise<void> {
  for (let i = 0; i < rows.length; i += JS_BATCH) {
    const facts = rows.slice(i, i + JS_BATCH).map((r) => factsRow(eventFactsOf(rowToEvent(r))));
    await c.run(INSERT_JS_ROWS, { rows: JSON.stringify(facts) });
  }
}

/**
 * Fills `event_facts` for the events with `after` < seq ≤ `last`, inside the caller's
 * transaction: a small batch by JavaScript; otherwise the SQL extraction, then JavaScript for
 * the rows it marked, then the bot flag.
 */
export async function fillEventFacts(
  c: DuckDBConnection,
  after: number,
  last: number,
  smallBatch = SMALL_BATCH,
): Promise<FactsFilled> {
  const range = { after, last };
  if (last - after <= smallBatch) {
    const rows = (
      await c.runAndReadAll(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > $after AND seq <= $last`, range)
    ).getRowsJS();
    await insertByJs(c, rows);
    return { events: rows.length, inJs: rows.length, bots: 0 };
  }
  const inserted = await c.runAndReadAll(`INSERT INTO event_facts BY NAME ${EXTRACTION}`, range);
  const events = Number(inserted.getRowsJS()[0]?.[0] ?? 0);

  const unusual = (
    await c.runAndReadAll(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (
         SELECT seq FROM event_facts WHERE seq > $after AND seq <= $last AND extracted_in_js)`,
      range,
    )
  ).getRowsJS();
  if (unusual.length > 0) {
    await c.run('DELETE FROM event_facts WHERE seq > $after AND seq <= $last AND extracted_in_js', range);
    await insertByJs(c, unusual);
  }

  const agents = (
    await c.runAndReadAll(
      'SELECT DISTINCT user_agent FROM event_facts WHERE seq > $after AND seq <= $last AND user_agent IS NOT NULL',
      range,
    )
  )
    .getRowsJS()
    .map((r) => r[0] as string);
  const bots = agents.filter((ua) => isBotUserAgent(ua));
  if (bots.length > 0) {
    await c.run(
      `UPDATE event_facts SET is_bot = true WHERE seq > $after AND seq <= $last
         AND user_agent IN (SELECT unnest(json_transform($bots::JSON, '["VARCHAR"]')))`,
      { ...range, bots: JSON.stringify(bots) },
    );
  }
  return { events, inJs: unusual.length, bots: bots.length };
}

/** Seqs per back-fill transaction. */
const BACKFILL_STEP = 1_000_000;

/**
 * Facts for stored events that have none (a database from before migration 005): every event
 * above the highest seq in `event_facts`, in seq order, a transaction per step. Cheap when
 * there is nothing to do.
 */
export async function backfillEventFacts(c: DuckDBConnection, smallBatch = SMALL_BATCH): Promise<number> {
  const bounds = (
    await c.runAndReadAll(
      `SELECT (SELECT coalesce(max(seq), 0) FROM event_facts)::DOUBLE, (SELECT coalesce(max(seq), 0) FROM events)::DOUBLE`,
    )
  ).getRowsJS()[0] as [number, number];
  let [after] = bounds;
  const last = bounds[1];
  let filled = 0;
  while (after < last) {
    const to = Math.min(last, after + BACKFILL_STEP);
    await c.run('BEGIN TRANSACTION');
    try {
      filled += (await fillEventFacts(c, after, to, smallBatch)).events;
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
    after = to;
  }
  return filled;
}
