import { actorEventsSql, subjectOf } from './actor-events.js';
import type { EventMatcher } from './analytics-condition.js';
import { fieldsOf, needsOf } from './event-fields-sql.js';
import { NameCodes, nameTests } from './name-codes.js';
import { boundaries } from './retention-intervals.js';
import type { RetentionQuery } from './retention-query.js';

/**
 * Retention in SQL. One scan of the actors' events (`m`) flags what each event is (target,
 * returning, signup, activation); intervals are a small table of [lo, hi) instants computed in
 * the query's time zone (retention-intervals.ts), joined by range.
 *
 * - `recurring`: an actor is in the cohort of every interval in which it did the target event.
 * - `first_time`: only in the cohort of its first-ever target event (so the scan reaches back
 *   before the range: a first event before it puts the actor in no cohort).
 * - `values[k]` (k ≥ 1) of cohort i: its actors with a returning event in interval i + k.
 * - churn of interval i: of the actors active (a returning event) in i − 1, those not active in i.
 * - activation: actors whose first-ever signup event is in the range; activated when an
 *   activation event (another event than the signup itself) follows within `withinDays`.
 */

export interface RetentionSql {
  params: { ws: string };
  /** Rows (cohort i, k, actors): k = 0 the cohort size. */
  cells: string;
  /** Rows (interval i, active actors, of them active in i + 1). */
  churn: string;
  /** One row (signed up, activated, median ms to activate), or null without activation. */
  activation: string | null;
  bounds: number[];
}

const DAY = 86_400_000;

/** The matchers of a retention query, whose name tests (name-codes.ts) `retentionSql` needs resolved. */
export function retentionMatchers(q: RetentionQuery): EventMatcher[] {
  return [
    q.targetEvent,
    q.returningEvent,
    ...(q.activation ? [q.activation.signupEvent, q.activation.activationEvent] : []),
  ];
}

export const retentionNameTests = (q: RetentionQuery): string[] => nameTests(retentionMatchers(q));

export function retentionSql(
  workspaceId: string,
  q: RetentionQuery,
  names: NameCodes = NameCodes.none(),
): RetentionSql {
  const bounds = boundaries(q.firstMs, q.count, q.period, q.timezone);
  const lo = bounds[0] as number;
  const hi = bounds[bounds.length - 1] as number;
  const withinMs = q.activation ? q.activation.withinDays * DAY : 0;
  const reachBack = q.retentionType === 'first_time' || q.activation !== undefined;
  const events = actorEventsSql(workspaceId, {
    aggregateBy: q.aggregateBy,
    includeBots: q.includeBots,
    ...(reachBack ? {} : { fromMs: lo }),
    toMs: hi + withinMs + 1,
  });
  const matchers = retentionMatchers(q);
  const needs = needsOf(matchers.flatMap((m) => fieldsOf(m.where)));
  const match = (m: EventMatcher) => names.matcherSql(m);
  // The names any matcher can match, tested within DuckDB's scan.
  const byName = names.prefilter(matchers);
  const subject = subjectOf(q.aggregateBy);
  const touchJoin = needs.touchpoint
    ? `ASOF LEFT JOIN (SELECT ${subject.key} AS k, epoch_ms(event_at) AS at, source, medium, campaign, referring_domain
         FROM ${subject.tables.touchpoints} WHERE workspace_id = $ws) tp
       ON tp.k = a.subject_key AND a.ms >= tp.at`
    : '';
  const flags = {
    t: match(q.targetEvent),
    r: match(q.returningEvent),
    su: q.activation ? match(q.activation.signupEvent) : 'FALSE',
    ac: q.activation ? match(q.activation.activationEvent) : 'FALSE',
  };
  // The interval a time falls in, as one CASE over the bounds (callers keep it within [lo, hi)):
  // a range join with a table of intervals cost a merge join per use, most of the query's time.
  const intervalOf = (ms: string) =>
    `CASE ${bounds
      .slice(1, -1)
      .map((b, i) => `WHEN ${ms} < ${b}::DOUBLE THEN ${i}`)
      .join(' ')} ELSE ${bounds.length - 2} END`;
  const within = (ms: string) => `${ms} >= ${lo}::DOUBLE AND ${ms} < ${hi}::DOUBLE`;
  const prefix = `
    WITH a AS (${events}),
    m AS (
      SELECT * FROM (
        SELECT a.actor, a.ms::DOUBLE AS ms, a.seq, (${flags.t}) IS TRUE AS t, (${flags.r}) IS TRUE AS r,
          (${flags.su}) IS TRUE AS su, (${flags.ac}) IS TRUE AS ac
        FROM a ${needs.facts ? 'JOIN event_facts f ON f.workspace_id = $ws AND f.seq = a.seq' : ''}
        ${needs.json ? 'JOIN events e ON e.workspace_id = $ws AND e.seq = a.seq' : ''}
        ${touchJoin}
        ${byName ? `WHERE ${byName.sql}` : ''}
      ) WHERE t OR r OR su OR ac
    ),
    back AS (SELECT DISTINCT m.actor, ${intervalOf('m.ms')} AS i FROM m WHERE m.r AND ${within('m.ms')})`;
  const cohort =
    q.retentionType === 'first_time'
      ? `SELECT x.actor, ${intervalOf('x.first')} AS i FROM (SELECT actor, min(ms) AS first FROM m WHERE t GROUP BY actor) x
         WHERE ${within('x.first')}`
      : `SELECT DISTINCT m.actor, ${intervalOf('m.ms')} AS i FROM m WHERE m.t AND ${within('m.ms')}`;
  const cells = `${prefix},
    cohort AS (${cohort})
    SELECT i, 0 AS k, count(*)::DOUBLE FROM cohort GROUP BY i
    UNION ALL
    SELECT c.i, b.i - c.i, count(*)::DOUBLE FROM cohort c JOIN back b ON b.actor = c.actor AND b.i > c.i GROUP BY ALL`;
  const churn = `${prefix}
    SELECT b.i, count(*)::DOUBLE, count(n.actor)::DOUBLE
    FROM back b LEFT JOIN back n ON n.actor = b.actor AND n.i = b.i + 1 GROUP BY b.i ORDER BY b.i`;
  const activation = q.activation
    ? `${prefix},
    su AS (
      SELECT actor, min(ms) AS first_ms, arg_min(seq, ms) AS seq FROM m WHERE su GROUP BY actor
      HAVING min(ms) >= ${lo} AND min(ms) < ${hi}
    ),
    act AS (
      SELECT s.actor, min(x.ms) - s.first_ms AS d
      FROM su s LEFT JOIN m x ON x.actor = s.actor AND x.ac AND x.ms >= s.first_ms AND x.ms <= s.first_ms + ${withinMs} AND x.seq <> s.seq
      GROUP BY s.actor, s.first_ms
    )
    SELECT count(*)::DOUBLE, count(d)::DOUBLE, quantile_cont(d, 0.5)::DOUBLE FROM act`
    : null;
  return { params: { ws: workspaceId }, cells, churn, activation, bounds };
}
