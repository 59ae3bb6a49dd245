import {
  conditionSql,
  type FieldResolver,
  messageFieldSql,
  sqlSourceCategory,
  sqlString,
} from '../journey/rules-sql.js';
import { actorEventsSql, subjectOf } from './actor-events.js';
import {
  ELLIPSIS_ITEM,
  type NodeRef,
  OTHER_ITEM,
  type PathQuery,
  type PathSelection,
  SESSION_GAP_MS,
} from './paths.js';

/**
 * Journey maps in SQL (DuckDB), the way PostHog's paths do it with arrays (peer-semantics.md §b):
 *
 *  items     one row per event (page → path without its trailing `/`, screen → name, track →
 *            event name), stage entered (stage_history) or touchpoint (its channel)
 *  grouped   path groupings (`*` wildcards, unanchored; the first matching pattern wins), then
 *            excluded items dropped
 *  per_actor each actor's items as one list, by (time, seq)
 *  split     event/page items: a new path after a gap of 30 minutes or more
 *  collapsed runs of one item kept once (the last of the run, whose time the edge then uses)
 *  cut       at the start point (first occurrence) and/or the end point (first after it); paths
 *            without them dropped; the step limit applied (both anchors and too long: the first
 *            ⌊N/2⌋ items, `...`, the last ⌊N/2⌋)
 *  counted   `persons`: each person's first path; `paths`/`sessions`: every path
 *  mapped    one row per (path, position); items outside the top `edgeLimit` edges become
 *            `(other)` at their position, so the flows still add up
 *
 * `mapped` has: subject_key, actor, session, position, item, prev_item, ms, prev_ms, ended (the
 * path ends here: it went no further).
 *
 * Plans. Listing every actor's items (10M at 10M events, each page joined to event_facts for its
 * path) is most of the cost, yet the default map (persons, no anchors, no excluded items) counts
 * only each person's first session. The fast plan (firstSessionOnly) finds those sessions' rows
 * first, on integers (name codes and times, no sort of all events), and reads names for them
 * alone; its actors then have one session each (no split, no first-path ranking). Any
 * other query takes the general plan: every item, then the steps above. Both give the same maps
 * (a differential property test, duckdb-paths-store.test.ts).
 * List lambdas pair neighbours with list_zip rather than capture the list (DuckDB copies a
 * captured list for every element: quadratic per actor).
 */

/** PostHog's grouping: the pattern regex-escaped, `*` → `.*`, unanchored. */
export function groupingRegex(pattern: string): string {
  return pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
}

const inList = (values: readonly string[]) => values.map(sqlString).join(', ');

function itemsSql(ws: string, q: PathQuery): string {
  const subject = subjectOf(q.aggregateBy);
  const events = actorEventsSql(ws, {
    aggregateBy: q.aggregateBy,
    includeBots: q.includeBots,
    ...(q.from !== undefined ? { fromMs: q.from } : {}),
    ...(q.to !== undefined ? { toMs: q.to } : {}),
  });
  const w = sqlString(ws);
  switch (q.item) {
    case 'event':
    case 'page':
      // A page view's item: its page (path or URL, stored on the step, journey-sql.ts stepPageSql),
      // else its name; the journey steps carry every event's name, type and page.
      return `SELECT actor, subject_key, seq, ms,
          CASE WHEN type = 'page' THEN coalesce(page, event) ELSE event END AS item
        FROM (${events}) WHERE type IN ${q.item === 'page' ? `('page')` : `('screen', 'track', 'page')`}`;
    case 'channel':
      return `SELECT a.actor, a.subject_key, a.seq, a.ms, t.channel AS item
        FROM (${events}) a JOIN ${subject.tables.touchpoints} t
          ON t.workspace_id = ${w} AND t.${subject.key} = a.subject_key AND t.seq = a.seq`;
    case 'stage': {
      // The stages entered, in order: stage_history names a person by its key, an account by its group id.
      const key =
        q.aggregateBy === 'account'
          ? `(SELECT ak.account_key FROM account_keys ak WHERE ak.workspace_id = ${w} AND ak.group_id = h.subject)`
          : 'TRY_CAST(h.subject AS INTEGER)';
      const range = [
        q.from !== undefined ? ` AND h.entered_at >= make_timestamp(${Math.trunc(q.from) * 1000})` : '',
        q.to !== undefined ? ` AND h.entered_at < make_timestamp(${Math.trunc(q.to) * 1000})` : '',
      ].join('');
      const bots = q.includeBots
        ? ''
        : ` WHERE subject_key NOT IN (SELECT ${subject.key} FROM ${subject.tables.subjects} WHERE workspace_id = ${w} AND bot IS NOT NULL)`;
      return `SELECT * FROM (SELECT ${key}::BIGINT AS actor, ${key} AS subject_key, h.position::BIGINT AS seq,
          epoch_ms(h.entered_at) AS ms, h.name AS item
        FROM stage_history h WHERE h.workspace_id = ${w} AND h.subject_kind = ${sqlString(subject.kind)}${range})${bots}`;
    }
  }
}

/**
 * The fast plan looks for each actor's first session within this long after its first item (a
 * session still going at the end of it is followed through the actor's whole history).
 */
export const FIRST_SESSION_WINDOW_MS = 6 * SESSION_GAP_MS;

/**
 * The fast plan applies: only each person's first path counts, and (no anchors, no excluded
 * items) that is the person's first session of event/page items, whose rows can be found from
 * integers before any item is read (firstSessionItemsSql). With bots included the events have no
 * name codes: the general plan then.
 */
export function firstSessionOnly(q: PathQuery): boolean {
  return (
    q.count === 'persons' &&
    q.startPoint === undefined &&
    q.endPoint === undefined &&
    q.excludeItems.length === 0 &&
    !q.includeBots &&
    (q.item === 'event' || q.item === 'page')
  );
}

/**
 * Given `l`, an actor's item times sorted, the time of the first item after a gap of 30 minutes
 * or more (where the first session ends; NULL: no such gap). list_zip pairs each time with the
 * one before it, so no lambda captures the list (DuckDB copies a captured list per element).
 */
const firstBreak = (l: string) =>
  `${l}[list_position(list_transform(list_zip(${l}[2:], list_slice(${l}, 1, len(${l}) - 1)),
    lambda p: p[1] - p[2] >= ${SESSION_GAP_MS}), true) + 1]`;

/**
 * Items of each actor's first session only (the fast plan): the rows `itemsSql` gives, less all
 * but the first session's. Which rows those are depends only on their times, once it is known
 * which rows have an item at all, and the steps tell that by their name code (a page without a
 * name has one when it has a page). So, on integers (and the page's presence) only:
 *   kept     rows with an item
 *   near     those within FIRST_SESSION_WINDOW_MS of the actor's first (a hash aggregate and a
 *            hash join, no sort)
 *   cuts     per actor, the first gap among them: the first session ends there. None, and the
 *            last one is less than a gap before the window's end: the session may go on ("open"),
 *            and the actor's whole history decides (rare)
 *   opening  the rows before the cut
 * and only then the names, from the codes.
 */
function firstSessionItemsSql(ws: string, q: PathQuery): string {
  const events = actorEventsSql(ws, {
    aggregateBy: q.aggregateBy,
    includeBots: false,
    ...(q.from !== undefined ? { fromMs: q.from } : {}),
    ...(q.to !== undefined ? { toMs: q.to } : {}),
  });
  const w = sqlString(ws);
  const types = q.item === 'page' ? `('page')` : `('screen', 'track', 'page')`;
  const codes = `SELECT code FROM journey_names WHERE workspace_id = ${w} AND type IN ${types}`;
  const W = FIRST_SESSION_WINDOW_MS;
  return `WITH kept AS (
    SELECT actor, subject_key, seq, ms, name_code, page FROM (${events})
    WHERE name_code IN (${codes} AND event IS NOT NULL)
      OR (page IS NOT NULL AND name_code IN (${codes} AND type = 'page'))),
  near AS MATERIALIZED (
    SELECT k.*, f.t0 FROM kept k JOIN (SELECT actor, min(ms) AS t0 FROM kept GROUP BY actor) f ON f.actor = k.actor
    WHERE k.ms < f.t0 + ${W}),
  cuts AS MATERIALIZED (
    SELECT actor, cut, cut IS NULL AND last + ${SESSION_GAP_MS} > t0 + ${W} AS open
    FROM (SELECT actor, ${firstBreak('l')} AS cut, last, t0
      FROM (SELECT actor, list_sort(list(ms)) AS l, max(ms) AS last, any_value(t0) AS t0 FROM near GROUP BY actor))),
  long AS (SELECT k.* FROM kept k SEMI JOIN cuts c ON c.actor = k.actor AND c.open),
  long_cut AS (
    SELECT actor, ${firstBreak('l')} AS cut FROM (SELECT actor, list_sort(list(ms)) AS l FROM long GROUP BY actor)),
  opening AS (
    SELECT n.actor, n.subject_key, n.seq, n.ms, n.name_code, n.page FROM near n JOIN cuts c ON c.actor = n.actor
    WHERE NOT c.open AND (c.cut IS NULL OR n.ms < c.cut)
    UNION ALL SELECT l.* FROM long l JOIN long_cut c ON c.actor = l.actor WHERE c.cut IS NULL OR l.ms < c.cut)
  SELECT o.actor, o.subject_key, o.seq, o.ms,
    CASE WHEN n.type = 'page' THEN coalesce(o.page, n.event) ELSE n.event END AS item
  FROM opening o JOIN journey_names n ON n.workspace_id = ${w} AND n.code = o.name_code`;
}

/** Subjects matching `excludePersons` (by their current traits), as a SQL relation of keys. */
function excludedSql(ws: string, q: PathQuery): string | null {
  if (!q.excludePersons) return null;
  const w = sqlString(ws);
  const traits =
    q.aggregateBy === 'account'
      ? `SELECT ak.account_key AS k, json_group_object(t.key, t.value::JSON) AS traits FROM account_traits t
           JOIN account_keys ak ON ak.workspace_id = t.workspace_id AND ak.group_id = t.group_id
           WHERE t.workspace_id = ${w} GROUP BY ak.account_key`
      : `SELECT person_key AS k, json_group_object(key, value::JSON) AS traits FROM person_traits
           WHERE workspace_id = ${w} GROUP BY person_key`;
  const resolver: FieldResolver = {
    field: (name) => messageFieldSql('traits', name.slice('traits.'.length), 't'),
    category: (name) => sqlSourceCategory(messageFieldSql('traits', name.slice('traits.'.length), 't').text),
  };
  return `SELECT s.k FROM (SELECT DISTINCT subject_key AS k FROM items) s LEFT JOIN (${traits}) t ON t.k = s.k
    WHERE ${conditionSql(q.excludePersons, resolver)}`;
}

/** Which plan: the fast one where it applies (firstSessionOnly), or always the general one. */
export type PathPlan = 'auto' | 'general';

/** The CTEs that end in `mapped` (see above). */
export function pathRowsSql(ws: string, q: PathQuery, plan: PathPlan = 'auto'): string {
  const N = q.stepLimit;
  const half = Math.floor(N / 2);
  const grouped = q.pathGroupings.length
    ? `CASE ${q.pathGroupings
        .map((p) => `WHEN regexp_matches(item, ${sqlString(groupingRegex(p))}) THEN ${sqlString(p)}`)
        .join(' ')} ELSE item END`
    : 'item';
  const excluded = excludedSql(ws, q);
  // The fast plan's items are one session per actor (and so one path per person) already.
  const fast = plan !== 'general' && firstSessionOnly(q);
  const splits = !fast && (q.item === 'event' || q.item === 'page');
  const start = q.startPoint !== undefined ? sqlString(q.startPoint) : null;
  const end = q.endPoint !== undefined ? sqlString(q.endPoint) : null;
  // Each actor's items as one list sorted by (time, seq), then list functions per path (as
  // PostHog's arrays): no global sort per step. (list_sort of the structs is about three times as
  // fast as an ORDER BY inside the aggregate.)
  const startAt = start === null ? '1' : `list_position(list_transform(evs, lambda e: e.i), ${start})`;
  const endAt =
    end === null ? 'len(evs)' : `st - 1 + list_position(list_transform(evs[st:], lambda e: e.i), ${end})`;
  // The kept part of a path (`len` = items from the start to the end point, or to the path's end).
  let path: string;
  if (end === null) path = `evs[st : st + ${N - 1}]`;
  else if (start === null) path = `evs[greatest(st, en - ${N - 1}) : en]`;
  else
    path = `CASE WHEN len <= ${N} THEN evs[st : en] ELSE list_concat(evs[st : st + ${half - 1}],
      [{'m': evs[st + ${half}].m, 's': evs[st + ${half}].s, 'i': ${sqlString(ELLIPSIS_ITEM)}}],
      evs[en - ${half - 1} : en]) END`;
  // A path "ends" at its last item only when nothing was cut after it (no end point, within the limit).
  const ended = end === null ? `len <= ${N}` : 'FALSE';
  const firstOnly = !fast && q.count === 'persons';
  const items = fast ? firstSessionItemsSql(ws, q) : itemsSql(ws, q);
  return `items AS (${items}),
  grouped AS (
    SELECT actor, subject_key, seq, ms, ${grouped} AS item FROM items
    WHERE item IS NOT NULL${excluded ? ` AND subject_key NOT IN (${excluded})` : ''}),
  per_actor AS (
    SELECT actor, subject_key, list_sort(list({'m': ms, 's': seq, 'i': item})) AS evs FROM grouped
    ${q.excludeItems.length ? `WHERE item NOT IN (${inList(q.excludeItems)})` : ''}
    GROUP BY actor, subject_key),
  split AS (${
    splits
      ? `SELECT actor, subject_key,
      unnest(list_transform(starts, lambda s, j: evs[s : coalesce(starts[j + 1] - 1, len(evs))])) AS evs,
      unnest(range(0, len(starts))) AS session
    FROM (SELECT *, list_filter(range(1, len(evs) + 1),
      lambda k: k = 1 OR evs[k].m - evs[k - 1].m >= ${SESSION_GAP_MS}) AS starts FROM per_actor)`
      : 'SELECT actor, subject_key, evs, 0 AS session FROM per_actor'
  }),
  collapsed AS (
    SELECT actor, subject_key, session, list_transform(list_filter(list_zip(evs, evs[2:]),
      lambda p: p[2] IS NULL OR p[1].i <> p[2].i), lambda p: p[1]) AS evs
    FROM split),
  started AS (SELECT *, ${startAt} AS st FROM collapsed),
  bounded AS (SELECT *, ${endAt} AS en FROM started${start === null ? '' : ' WHERE st IS NOT NULL'}),
  cut AS (
    SELECT actor, subject_key, session, ${path} AS path, ${ended} AS ended
    FROM (SELECT *, en - st + 1 AS len FROM bounded${end === null ? '' : ' WHERE en IS NOT NULL'})),
  counted AS MATERIALIZED (
    SELECT * FROM cut ${
      firstOnly
        ? 'QUALIFY row_number() OVER (PARTITION BY subject_key ORDER BY path[1].m, actor, session) = 1'
        : ''
    }),
  unnested AS MATERIALIZED (
    SELECT subject_key, actor, session, position, e.i AS item, e.m AS ms,
      CASE WHEN position > 1 THEN path[position - 1].i END AS prev_item,
      CASE WHEN position > 1 THEN path[position - 1].m END AS prev_ms,
      ended AND position = len(path) AS ended
    FROM (SELECT *, unnest(path) AS e, unnest(range(1, len(path) + 1)) AS position FROM counted)),
  edges0 AS (
    SELECT position, prev_item, item, count(*) AS value FROM unnested WHERE position > 1 GROUP BY ALL),
  ranked AS (
    SELECT *, row_number() OVER (ORDER BY value DESC, (position - 1)::VARCHAR || '_' || prev_item,
      position::VARCHAR || '_' || item) AS r, count(*) OVER () AS total FROM edges0),
  top_nodes AS (
    SELECT position - 1 AS position, prev_item AS item FROM ranked WHERE r <= ${q.edgeLimit}
    UNION SELECT position, item FROM ranked WHERE r <= ${q.edgeLimit}),
  mapped AS MATERIALIZED (
    SELECT u.* REPLACE (
      CASE WHEN all_kept OR t.item IS NOT NULL THEN u.item ELSE ${sqlString(OTHER_ITEM)} END AS item,
      CASE WHEN u.prev_item IS NULL OR all_kept OR tp.item IS NOT NULL THEN u.prev_item
        ELSE ${sqlString(OTHER_ITEM)} END AS prev_item)
    FROM (SELECT *, (SELECT coalesce(max(total), 0) FROM ranked) <= ${q.edgeLimit} AS all_kept FROM unnested) u
    LEFT JOIN top_nodes t ON t.position = u.position AND t.item = u.item
    LEFT JOIN top_nodes tp ON tp.position = u.position - 1 AND tp.item = u.prev_item)`;
}

/** Nodes (kind 'n': position, item, count, drop-offs) and edges (kind 'e') of a journey map. */
export function pathMapSql(ws: string, q: PathQuery, plan: PathPlan = 'auto'): string {
  return `WITH ${pathRowsSql(ws, q, plan)}
  SELECT 'n' AS kind, position, NULL AS prev_item, item, count(*) AS value,
    count(*) FILTER (WHERE ended) AS dropped, NULL::DOUBLE AS avg_ms
  FROM mapped GROUP BY position, item
  UNION ALL
  SELECT 'e', position, prev_item, item, count(*), 0, avg(ms - prev_ms)
  FROM mapped WHERE position > 1 GROUP BY position, prev_item, item`;
}

const at = (n: NodeRef) => `position = ${Math.trunc(n.position)} AND item = ${sqlString(n.item)}`;

/**
 * The subjects behind a node, an edge or a drop-off: their keys (and an account's group id),
 * ordered by key, after `after`, at most `limit`, each row with the total.
 */
export function pathPeopleSql(
  ws: string,
  q: PathQuery,
  s: PathSelection,
  limit: number,
  after?: number,
  plan: PathPlan = 'auto',
): string {
  const where =
    'node' in s
      ? at(s.node)
      : 'dropOff' in s
        ? `${at(s.dropOff)} AND ended`
        : `${at(s.edge.target)} AND prev_item = ${sqlString(s.edge.source.item)}`;
  const group =
    q.aggregateBy === 'account'
      ? `(SELECT ak.group_id FROM account_keys ak WHERE ak.workspace_id = ${sqlString(ws)} AND ak.account_key = k)`
      : 'NULL';
  return `WITH ${pathRowsSql(ws, q, plan)},
  chosen AS (SELECT k, count(*) OVER () AS total FROM (SELECT DISTINCT subject_key AS k FROM mapped WHERE ${where}))
  SELECT k, ${group} AS group_id, total FROM chosen
  ${after !== undefined ? `WHERE k > ${Math.trunc(after)}` : ''} ORDER BY k LIMIT ${Math.trunc(limit) + 1}`;
}
