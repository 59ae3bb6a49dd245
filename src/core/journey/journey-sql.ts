import { RATE_LIMIT } from './bots.js';
import { type ChannelRule, channelRuleSchema } from './channel-rules.js';
import { parseRules } from './conditions.js';
import type { JourneySettings } from './journey-settings.js';
import { type JourneySubject, PERSONS } from './journey-subjects.js';
import { channelQueryOf, sqlString } from './rules-sql.js';
import { effectiveChannelRules } from './rulesets.js';

/**
 * Journeys in SQL (DuckDB): every person's sessions, touchpoints and per-event annotations,
 * computed set-wise over `event_facts`, the compiled channel rules (rules-sql.ts) and a person
 * relation, equal to what the JavaScript fold gives (journey.ts `buildJourney`, sessions.ts,
 * bots.ts) for a journey without bot traffic (`includeBots: false`). The JavaScript model stays
 * for live journeys and explanations; test/integration/journey-sql-differential.test.ts holds
 * the two together.
 *
 * The fold is sequential; each of its pieces is rewritten as something window functions compute
 * over a person's events in (time, seq) order:
 *
 * - **Sessions.** A split by inactivity, midnight (UA) or campaign change (UA) depends only on
 *   the previous event: a `lag` then a running sum numbers the stretches between such splits
 *   ("segments"). UA's campaign change compares an event's campaign key with the session's
 *   entry key, and that entry key always equals the last non-null key of the person's earlier
 *   events (a session opened by a direct hit inherits the one before; one opened by a campaign
 *   takes it; an event with another key splits), so `last_value(key IGNORE NULLS)` over the
 *   preceding rows gives it. Only the maximum length depends on where the session started,
 *   iteratively (`t - start >= maxLength` opens a new one): rows further than the maximum from
 *   their segment's first event are rare, and only those segments are chained by a recursive
 *   CTE, one session start per step.
 * - **Arrivals.** "Repeats the previous view of the same browser in this session" is a `lag`
 *   over the views of one (person, user agent), plus a test that the previous view is not
 *   before the current session's first row.
 * - **The channel in effect** is the session's last arrival that is not Direct (a direct return
 *   overrides only with `directOverridesCampaign`), else its first touchpoint (the entry: any
 *   arrival, or an event that opened the visit; it is what set the channel first, and only a
 *   strong arrival replaces it). Both are running maxima over the person's rows of packed
 *   integers (session, position, channel code), read where their session is the row's: no
 *   join, no partition per session.
 * - **Touchpoints** are numbered by a running count over all the person's rows (server-side
 *   events too, which stand outside sessions).
 * - **Bots.** User-agent bots are left out of everything but the count; an event-rate bot (more
 *   than RATE_LIMIT.views views within RATE_LIMIT.windowMs, user-agent bots' views included, as
 *   RateWatch is fed) empties the person's journey: the view RATE_LIMIT.views places earlier is
 *   inside the window (`lag(t, 40) >= t - 60 s`), tested only for persons with that many views.
 *
 * Every value from the settings reaches the SQL as a literal (`sqlString`, numbers through
 * `String`): settings cannot inject SQL. Assumption, as in the store: a workspace's message ids
 * are unique (ingest deduplicates them), so the builder's "a repeated messageId is ignored"
 * never applies.
 */

/**
 * A page view's page as journey maps name it (PostHog's `(.)/$ → \1`: one trailing slash goes,
 * "/" itself stays), else its URL; NULL for other events. Over event_facts alias `f`; journey
 * steps store it (`page`, migration 014, which repeats this expression).
 */
export const stepPageSql = (f: string): string =>
  `CASE WHEN ${f}.type = 'page' THEN coalesce(regexp_replace(${f}.page_path, '(.)/$', '\\1'), ${f}.page_url) END`;

/** The temporary tables the computation goes through (per connection). */
export const JOURNEY_TEMP_TABLES = [
  'jt_pe',
  'jt_ev',
  'jt_exact',
  'jt_person',
  'jt_s2',
  'jt_long',
  'jt_extra',
  'jt_steps',
  'jt_sess',
] as const;

export interface JourneySqlOptions {
  workspaceId: string;
  /**
   * Only these subjects (person_map keys, or account keys: those a late event or a merge
   * touched); default: every one of the workspace.
   */
  persons?: readonly number[];
  /** Whose journeys: persons (default) or accounts; the SQL calls either a "person". */
  subject?: JourneySubject;
}

export interface JourneySql {
  /** Statements that fill the temporary tables, in order. */
  compute: string[];
  /** Deletes the workspace's (or the persons') rows from the journey tables. */
  remove: string[];
  /** Inserts the computed rows into the journey tables. */
  insert: string[];
  /** Counts of what `insert` writes: one row (persons, events, sessions, touchpoints). */
  counts: string;
  /** Drops the temporary tables. */
  cleanup: string[];
}

/** A number from the settings as a SQL literal (JavaScript's own text of it). */
const num = (n: number): string => {
  if (!Number.isFinite(n)) throw new Error(`not a finite number: ${n}`);
  return `(${String(n)})::DOUBLE`;
};

const DIRECT = 'Direct';

/** sessions.ts: a session this long (ms) is engaged, never a bounce (not exported there). */
const ENGAGED_MS = 10_000;

/** The effective rules, parsed (scope defaulted), in the channel query's order. */
function parsedRules(settings: JourneySettings): { channel: string; scope: 'arrival' | 'event' }[] {
  return effectiveChannelRules(settings.channels).map((r: ChannelRule, i) =>
    parseRules(channelRuleSchema, r, `rules[${i}]`),
  );
}

/**
 * Packed running maxima: session << SESSION_SHIFT | position << CODE_BITS | channel code, so
 * that `max` finds the latest session, then the latest (or, with MAX_POSITION − rn, the
 * earliest) row in it. Room for 2^22 sessions and 2^30 rows per person and 2^10 codes.
 */
const CODE_BITS = 10;
const CODES = 1 << CODE_BITS;
const SESSION_SHIFT = 41;
const MAX_POSITION = 2 ** 30;

export function journeySql(settings: JourneySettings, options: JourneySqlOptions): JourneySql {
  const ws = sqlString(options.workspaceId);
  const subject = options.subject ?? PERSONS;
  const { steps, sessions, touchpoints, subjects } = subject.tables;
  const persons = options.persons;
  if (persons)
    for (const p of persons) if (!Number.isSafeInteger(p)) throw new Error(`not a person key: ${p}`);
  const personList = persons ? (persons.length ? persons.map(String).join(', ') : 'NULL') : null;
  // A relation that covers only part of the workspace's events (a few persons, or accounts) is
  // materialised, and the channel rules classify only its events.
  const partial = persons !== undefined || subject.sparse;
  const s = settings.sessions;
  const ua = s.style === 'ua';
  const timeout = num(s.timeoutMinutes * 60_000);
  const maxLength = num(s.maxLengthHours * 3_600_000);
  // The calendar day in the workspace's time zone (Intl's day in JavaScript): timestamps are UTC.
  const dayOf = (t: string) =>
    s.timeZone === 'UTC' ? `(${t})::DATE` : `timezone(${sqlString(s.timeZone)}, timezone('UTC', ${t}))::DATE`;
  const conversions = settings.conversions.length
    ? `coalesce(f.event IN (${settings.conversions.map(sqlString).join(', ')}), false)`
    : 'false';
  const rules = parsedRules(settings);
  if (rules.length >= CODES - 1) throw new Error(`more than ${CODES - 2} channel rules`);
  const eventScoped = rules.flatMap((r, i) => (r.scope === 'event' ? [i] : []));
  const directCodes = rules.flatMap((r, i) => (r.channel === DIRECT ? [i + 1] : []));
  /** A channel code (0: Unassigned, i + 1: the channel of rule i) as the channel's name. */
  const channelName = (code: string) =>
    `CASE ${code} WHEN 0 THEN 'Unassigned' ${rules.map((r, i) => `WHEN ${i + 1} THEN ${sqlString(r.channel)}`).join(' ')} END`;
  const channels = channelQueryOf(settings, {
    where: `f.workspace_id = ${ws}${partial ? ' AND f.seq IN (SELECT seq FROM jt_pe)' : ''}`,
  });
  const overrides = settings.directOverridesCampaign;

  const compute: string[] = [];
  // The person relation: an event belongs to every person one of its identifiers maps to.
  // Materialised when partial (the channel query reads it too); for all of a workspace's
  // persons it streams straight into the join below.
  const personEvents = subject.relation(options.workspaceId, personList ?? undefined);
  if (partial) compute.push(`CREATE OR REPLACE TEMP TABLE jt_pe AS ${personEvents}`);

  // Per (person, event): what the fold reads, from the facts and the channel rules.
  //  - key: the campaign key (touch-fields.ts campaignKeyOf), same text as JavaScript's;
  //  - origin: the referrer a view shows (journey.ts ViewOrigin.referrer);
  //  - may_arrive: a view that arrives unless it repeats the previous one of its browser;
  //  - arrival_code / event_code: channel codes (small integers travel through the windows
  //    cheaper than names): what the view arrives through, the event-scope rule it matches.
  // What only a touchpoint shows is kept only where the row can be one (a view that may arrive, an
  // event an event-scope rule matches); the page URL also where the row can open a session.
  const candidate = (column: string) =>
    `CASE WHEN (c.arrival IN ('campaign', 'referral', 'direct') AND f.type IN ('page', 'screen'))
      OR c.event_rule IS NOT NULL THEN ${column} END AS ${column.slice(2)}`;
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_ev AS
    SELECT p.person, f.seq, epoch_ms(f.timestamp) AS t, f.type IN ('page', 'screen') AS is_view,
      f.interactive, f.is_bot, ${conversions} AS conversion,
      CASE WHEN c.arrival IN ('campaign', 'referral') THEN concat(c.source, '|', c.medium, '|',
        coalesce(f.utm_campaign, ''), '|', coalesce(f.utm_content, ''), '|', coalesce(f.utm_term, '')) END AS key,
      CASE WHEN c.arrival = 'internal' THEN '(internal)'
        WHEN c.referring_domain IS NULL OR c.referring_domain = '$direct' THEN '' ELSE c.referring_domain END AS origin,
      c.arrival IN ('campaign', 'referral', 'direct') AND NOT (f.type = 'screen' AND c.arrival = 'direct') AS may_arrive,
      (c.arrival_rule + 1)::SMALLINT AS arrival_code, (c.event_rule + 1)::SMALLINT AS event_code,
      coalesce(f.user_agent, '') AS browser,
      ${candidate('f.event')}, ${candidate('c.source')}, ${candidate('c.medium')}, ${candidate('f.utm_campaign')},
      ${candidate('f.utm_content')}, ${candidate('f.utm_term')}, ${candidate('c.referring_domain')},
      CASE WHEN f.interactive OR c.event_rule IS NOT NULL THEN f.page_url END AS page_url
    FROM ${partial ? 'jt_pe' : `(${personEvents})`} p JOIN event_facts f ON f.seq = p.seq AND f.workspace_id = ${ws}
    JOIN (${channels.sql}) c ON c.seq = f.seq AND c.workspace_id = f.workspace_id`);

  // Browsers, origins and campaign keys travel through the windows as their 64-bit hashes (a user
  // agent is long: carried as text, it made each window several times slower). Exact all the
  // same: where two different values of one of them share a hash in this computation (checked
  // here), that one's text travels too (`*_text`, NULL otherwise) and decides.
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_exact AS
    SELECT count(DISTINCT browser) = count(DISTINCT hash(browser)) AS browser,
      count(DISTINCT origin) = count(DISTINCT hash(origin)) AS origin,
      count(DISTINCT key) = count(DISTINCT hash(key)) FILTER (WHERE key IS NOT NULL) AS key
    FROM jt_ev`);

  // Per person: user-agent bot events (left out, counted) and the event-rate verdict.
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_person AS
    WITH counts AS (SELECT person, count(*) FILTER (WHERE is_bot)::INTEGER AS bot_events,
        count(*) FILTER (WHERE is_view) AS views FROM jt_ev GROUP BY person),
      rated AS (SELECT person FROM (
          SELECT person, t, lag(t, ${RATE_LIMIT.views}) OVER (PARTITION BY person ORDER BY t, seq) AS back
          FROM jt_ev WHERE is_view AND person IN (SELECT person FROM counts WHERE views > ${RATE_LIMIT.views}))
        WHERE t - back <= ${RATE_LIMIT.windowMs} GROUP BY person)
    SELECT c.person, c.bot_events, r.person IS NOT NULL AS rate_bot
    FROM counts c LEFT JOIN rated r ON r.person = c.person`);

  // The rows of journeys: not bots, of persons that are not rate bots. Windows partitioned by
  // (person, interactive) see only the session rows (interactive ones) in their partition: no
  // join is needed to bring the others back. Level 1: the position among the session rows and
  // what the previous one says (gap, day, campaign).
  const wi = 'PARTITION BY person, interactive ORDER BY t, seq';
  const hashed = (column: string) =>
    `CASE WHEN ${column} IS NOT NULL THEN hash(${column}) END AS ${column}_id,
      CASE WHEN NOT (SELECT ${column} FROM jt_exact) THEN ${column} END AS ${column}_text`;
  const level0 = `SELECT person, seq, t, interactive, is_view, conversion, may_arrive, arrival_code, event_code,
      ${hashed('key')}, ${hashed('origin')}, ${hashed('browser')}
    FROM jt_ev
    WHERE NOT is_bot AND person NOT IN (SELECT person FROM jt_person WHERE rate_bot)`;
  const keyOf = "{'id': key_id, 'text': key_text}";
  const level1 = `SELECT *, row_number() OVER (${wi}) AS rn, lag(t) OVER (${wi}) AS prev_t
      ${ua ? `, last_value(CASE WHEN key_id IS NOT NULL THEN ${keyOf} END IGNORE NULLS) OVER (${wi} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_key` : ''}
    FROM (${level0})`;
  // Level 2: segments (runs without a split that does not depend on the session's start) and
  // their first row; whether a view repeats the previous view of its browser (and where that
  // one is: in this session or not is known once sessions are).
  const hard = `(interactive AND (prev_t IS NULL OR t - prev_t > ${timeout}${
    ua
      ? ` OR ${dayOf('make_timestamp(t * 1000)')} <> ${dayOf('make_timestamp(prev_t * 1000)')}
        OR (key_id IS NOT NULL AND ${keyOf} IS DISTINCT FROM prev_key)`
      : ''
  }))`;
  const wir = 'PARTITION BY person, interactive ORDER BY rn ROWS UNBOUNDED PRECEDING';
  const wv = 'PARTITION BY person, is_view, browser_id, browser_text ORDER BY rn';
  const same = (column: string) =>
    `lag(${column}_id) OVER (${wv}) = ${column}_id AND lag(${column}_text) OVER (${wv}) IS NOT DISTINCT FROM ${column}_text`;
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_s2 AS
    SELECT person, seq, t, interactive, is_view, conversion, may_arrive, arrival_code, event_code, rn,
      sum(hard::INTEGER) OVER (${wir}) AS seg,
      max(CASE WHEN hard THEN rn END) OVER (${wir}) AS seg_rn,
      lag(rn) OVER (${wv}) AS pv_rn,
      coalesce(${same('origin')} AND (key_id IS NULL OR ${same('key')}), false) AS repeats
    FROM (SELECT *, ${hard} AS hard FROM (${level1}))`);

  // The maximum length, exactly: rows at or past it from their segment's first row, and their
  // segments' session starts chained one per step (each the first row at or past the maximum
  // from the previous start). Rare: at the defaults, 24 h without a 30-minute pause.
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_long AS
    WITH spans AS (SELECT person, seg, min(t) AS seg_t FROM jt_s2 WHERE interactive
      GROUP BY person, seg HAVING max(t) - min(t) >= ${maxLength})
    SELECT s.person, s.seg, p.seg_t, s.t, s.rn FROM jt_s2 s JOIN spans p ON p.person = s.person AND p.seg = s.seg
    WHERE s.interactive AND s.t - p.seg_t >= ${maxLength}`);
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_extra AS
    WITH RECURSIVE chain(person, seg, start) AS (
      SELECT DISTINCT person, seg, seg_t FROM jt_long
      UNION ALL
      SELECT l.person, l.seg, min(l.t) FROM chain c JOIN jt_long l ON l.person = c.person AND l.seg = c.seg
      WHERE l.t - c.start >= ${maxLength} GROUP BY l.person, l.seg)
    SELECT person, list(start_rn ORDER BY start_rn) AS starts FROM (
      SELECT c.person, min(l.rn) AS start_rn FROM chain c
      JOIN jt_long l ON l.person = c.person AND l.seg = c.seg AND l.t = c.start GROUP BY c.person, c.seg, c.start)
    GROUP BY person`);

  // Sessions (a session's first row: its segment's, or the latest extra start before; its index
  // counts segments and extra starts so far), arrivals, touchpoints. Then, over the person's
  // rows in order: touchpoints numbered, and two running maxima of packed integers (session,
  // position, channel code) — the session's last strong arrival (not Direct, unless direct
  // overrides) and its first touchpoint (its entry) — decoded where the session matches.
  const before = 'list_filter(x.starts, r -> r <= s.rn)';
  const pack = (position: string) =>
    `(session::BIGINT << ${SESSION_SHIFT}) + ((${position})::BIGINT << ${CODE_BITS}) + touch_code`;
  const strong = `arrival${overrides ? '' : directCodes.length ? ` AND touch_code NOT IN (${directCodes.join(', ')})` : ''}`;
  const w = 'PARTITION BY person ORDER BY t, seq ROWS UNBOUNDED PRECEDING';
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_steps AS
    WITH sess AS (
      SELECT s.*, CASE WHEN interactive THEN (s.seg - 1 + coalesce(len(${before}), 0))::INTEGER END AS session,
        greatest(s.seg_rn, coalesce(list_max(${before}), 0)) AS start_rn
      FROM jt_s2 s LEFT JOIN jt_extra x ON x.person = s.person),
    touched AS (
      SELECT *, coalesce(is_view AND may_arrive AND NOT (repeats AND pv_rn >= start_rn), false) AS arrival
      FROM sess),
    coded AS (
      SELECT *, arrival OR event_code IS NOT NULL AS touch,
        CASE WHEN arrival THEN arrival_code ELSE event_code END AS touch_code FROM touched),
    running AS (
      SELECT *, sum(touch::INTEGER) OVER (${w}) AS touches,
        max(CASE WHEN ${strong} THEN ${pack('rn')} END) OVER (${w}) AS strong_at,
        max(CASE WHEN touch AND session IS NOT NULL THEN ${pack(`${MAX_POSITION} - rn`)} END) OVER (${w}) AS entry_at
      FROM coded)
    SELECT person, seq, t, session, CASE WHEN touch THEN touches - 1 END AS touchpoint, touch, arrival, touch_code,
      is_view, conversion, rn,
      CASE WHEN session IS NULL THEN touch_code
        WHEN strong_at >> ${SESSION_SHIFT} = session THEN strong_at & ${CODES - 1}
        WHEN entry_at >> ${SESSION_SHIFT} = session THEN entry_at & ${CODES - 1} END AS channel_code,
      touch AND session IS NOT NULL AND entry_at = ${pack(`${MAX_POSITION} - rn`)} AS entry
    FROM running`);

  // Per session: its span and engagement, and its entry (first touchpoint).
  compute.push(`CREATE OR REPLACE TEMP TABLE jt_sess AS
    SELECT person, session, min(t) AS start_t, max(t) AS end_t, count(*)::INTEGER AS event_count,
      count(*) FILTER (WHERE is_view) AS views, bool_or(conversion) AS converted,
      arg_min(seq, rn) AS first_seq, min(touchpoint) AS entry_touchpoint,
      -- the entry row (one per session at most): scalar aggregates, cheaper than arg_min of a struct
      max(CASE WHEN entry THEN seq END) AS entry_seq, bool_or(entry AND arrival) AS entry_arrival,
      max(CASE WHEN entry THEN touch_code END) AS entry_code
    FROM jt_steps WHERE session IS NOT NULL GROUP BY person, session`);

  const where = `workspace_id = ${ws}${personList ? ` AND ${subject.key} IN (${personList})` : ''}`;
  const remove = [steps, sessions, touchpoints, subjects].map(
    (table) => `DELETE FROM ${table} WHERE ${where}`,
  );

  // Rows go in ordered by person: a person's rows then sit in one or two row groups, and a read
  // of one person's journey skips the rest by their min/max (DuckDB's zone maps), with no index
  // to maintain on every rebuild.
  const insert = [
    `INSERT INTO ${subjects} (workspace_id, ${subject.key}, bot, bot_events, last_event_at)
      SELECT ${ws}, p.person, CASE WHEN p.rate_bot THEN 'event_rate' END, p.bot_events, make_timestamp(l.t * 1000)
      FROM jt_person p LEFT JOIN (SELECT person, max(t) AS t FROM jt_steps GROUP BY person) l ON l.person = p.person
      ORDER BY p.person`,
    // (type, event) pairs not numbered yet get the next codes (migration 012).
    `INSERT INTO journey_names (workspace_id, code, type, event)
      SELECT ${ws}, (SELECT coalesce(max(code), 0) FROM journey_names WHERE workspace_id = ${ws})
          + row_number() OVER (ORDER BY type, event), type, event
      FROM (SELECT DISTINCT f.type, f.event FROM jt_steps st JOIN event_facts f ON f.workspace_id = ${ws} AND f.seq = st.seq) n
      WHERE NOT EXISTS (SELECT 1 FROM journey_names j WHERE j.workspace_id = ${ws}
        AND j.type IS NOT DISTINCT FROM n.type AND j.event IS NOT DISTINCT FROM n.event)`,
    `INSERT INTO ${steps} (workspace_id, ${subject.key}, seq, event_at, session, touchpoint, channel, event, type,
        name_code, page)
      SELECT ${ws}, st.person, st.seq, make_timestamp(st.t * 1000), st.session, st.touchpoint,
        ${channelName('st.channel_code')}, f.event, f.type, n.code, ${stepPageSql('f')}
      FROM jt_steps st JOIN event_facts f ON f.workspace_id = ${ws} AND f.seq = st.seq
        JOIN journey_names n ON n.workspace_id = ${ws} AND n.type IS NOT DISTINCT FROM f.type
          AND n.event IS NOT DISTINCT FROM f.event
      ORDER BY st.person, st.t, st.seq`,
    `INSERT INTO ${touchpoints} (workspace_id, ${subject.key}, touchpoint, seq, event_at, kind, channel, session,
        event, source, medium, campaign, content, term, referring_domain, landing_page)
      SELECT ${ws}, st.person, st.touchpoint, st.seq, make_timestamp(st.t * 1000),
        CASE WHEN NOT st.arrival THEN 'event' WHEN NOT st.entry THEN 'campaign'
          WHEN st.touch_code - 1 IN (${eventScoped.join(', ') || 'NULL'}) THEN 'event' ELSE 'session' END,
        ${channelName('st.touch_code')}, st.session, ev.event, ev.source, ev.medium, ev.utm_campaign,
        ev.utm_content, ev.utm_term, ev.referring_domain, ev.page_url
      FROM jt_steps st JOIN jt_ev ev ON ev.person = st.person AND ev.seq = st.seq
      WHERE st.touch ORDER BY st.person, st.touchpoint`,
    // The landing page: the entry's when the entry is an arrival, else the session's first row's.
    `INSERT INTO ${sessions} (workspace_id, ${subject.key}, session, start_at, end_at, event_count, bounce,
        channel, landing_page, entry_touchpoint)
      SELECT ${ws}, se.person, se.session, make_timestamp(se.start_t * 1000), make_timestamp(se.end_t * 1000),
        se.event_count, se.end_t - se.start_t < ${ENGAGED_MS} AND se.views < 2 AND NOT se.converted,
        ${channelName('se.entry_code')}, ev.page_url, se.entry_touchpoint
      FROM jt_sess se JOIN jt_ev ev ON ev.person = se.person
        AND ev.seq = CASE WHEN se.entry_arrival THEN se.entry_seq ELSE se.first_seq END
      ORDER BY se.person, se.session`,
  ];
  const counts = `SELECT (SELECT count(*) FROM jt_person)::DOUBLE, (SELECT count(*) FROM jt_steps)::DOUBLE,
      (SELECT count(*) FROM jt_sess)::DOUBLE, (SELECT count(*) FROM jt_steps WHERE touch)::DOUBLE`;
  const cleanup = JOURNEY_TEMP_TABLES.map((t) => `DROP TABLE IF EXISTS ${t}`);
  return { compute, remove, insert, counts, cleanup };
}
