import { sqlString } from '../journey/rules-sql.js';
import { actorEventsSql, subjectOf } from './actor-events.js';
import { eventFieldSql, fieldsOf, needsOf } from './event-fields-sql.js';
import { type FunnelQuery, windowMs } from './funnel-query.js';
import { NameCodes, type NameMatcher, nameTests } from './name-codes.js';

/**
 * The candidate rows of a funnel, in SQL: each event (or stage entry) of an actor that can fill a
 * step or trigger an exclusion, with a bitmask of the steps it matches (`steps`, bit k: step k,
 * 0-based) and of the exclusions it triggers (`exclusions`, bit i: it marks attempts that reached
 * step i-1), and its breakdown value. Only actors with a step-0 candidate in range come back,
 * ordered by actor, time, seq: what `funnel-fold.ts` walks. A strict funnel needs every event of
 * those actors (any other event breaks a chain).
 *
 * Step 0 must happen in [from, to); later steps may follow up to the window after `to`.
 */

export interface FunnelSql {
  sql: string;
  params: Record<string, string>;
}

/** The name tests a funnel needs (name-codes.ts), to resolve before `funnelSql`. */
export function funnelNameTests(q: FunnelQuery): string[] {
  return nameTests([...q.steps, ...q.exclusions] as NameMatcher[]);
}

export function funnelSql(
  workspaceId: string,
  q: FunnelQuery,
  range: { fromMs: number; toMs: number },
  /**
   * `nowMs`: who only did step 0 can still convert while their last try's window is open.
   * `names`: the codes of `funnelNameTests` (default: test the strings).
   */
  o: { prune: boolean; nowMs: number; names?: NameCodes },
): FunnelSql {
  const window = windowMs(q);
  const subject = subjectOf(q.aggregateBy);
  const names = o.names ?? NameCodes.none();
  const fields = [
    ...q.steps.flatMap((s) => fieldsOf(s.where)),
    ...q.exclusions.flatMap((x) => fieldsOf(x.where)),
    ...(q.breakdown ? [q.breakdown.field] : []),
  ];
  const needs = needsOf(fields);
  const eventMatch = (s: NameMatcher) => names.matcherSql(s);
  const before = `a.ms < ${Math.trunc(range.toMs)}`;
  const entry = (k: number) => k === 0 || q.order === 'unordered';
  const stepFlags = q.steps.map((s, k) =>
    s.stage !== undefined
      ? 'FALSE'
      : entry(k)
        ? `(${eventMatch(s as NameMatcher)} AND ${before})`
        : `(${eventMatch(s as NameMatcher)})`,
  );
  const exclusionFlags = q.exclusions.map((x) => `(${eventMatch(x as NameMatcher)})`);
  // The rows any step or exclusion can match, as a filter DuckDB applies before it computes the
  // masks (most events match nothing: the masks are then computed on few rows).
  const anyFlag = [...stepFlags.filter((f) => f !== 'FALSE'), ...exclusionFlags].join(' OR ') || 'FALSE';
  // First the names any of them can match, a range test DuckDB applies within its scan.
  const byName = names.prefilter([
    ...(q.steps.filter((s) => s.stage === undefined) as NameMatcher[]),
    ...(q.exclusions as NameMatcher[]),
  ]);
  const prefilter = !byName ? anyFlag : byName.exact ? byName.sql : `${byName.sql} AND (${anyFlag})`;
  const stepMask = stepFlags.map((f, k) => `CASE WHEN ${f} THEN ${2 ** k} ELSE 0 END`).join(' + ');
  const exclusionMask =
    q.exclusions
      .map((x, i) => {
        let bits = 0;
        for (let j = x.fromStep + 1; j <= x.toStep; j++) bits += 2 ** j;
        return `CASE WHEN ${exclusionFlags[i]} THEN ${bits} ELSE 0 END`;
      })
      .join(' + ') || '0';
  const breakdown = q.breakdown ? eventFieldSql(q.breakdown.field).text : 'NULL::VARCHAR';
  // The workspace as a literal: DuckDB cannot bind parameters inside a MATERIALIZED CTE.
  const ws = sqlString(workspaceId);
  const touchJoin = needs.touchpoint
    ? `ASOF LEFT JOIN (SELECT ${subject.key} AS k, epoch_ms(event_at) AS at, source, medium, campaign, referring_domain
         FROM ${subject.tables.touchpoints} WHERE workspace_id = ${ws}) tp
       ON tp.k = a.subject_key AND a.ms >= tp.at`
    : '';
  const stages = stageRowsSql(q, ws);
  const stageJoin = needs.stage
    ? `ASOF LEFT JOIN (${stages.relation}) st ON st.k = a.subject_key AND a.ms >= st.at`
    : '';
  const strict = q.order === 'strict';
  const stageSteps = q.steps.flatMap((s, k) => (s.stage !== undefined ? [{ stage: s.stage, k }] : []));
  const stageCandidates = stageSteps.length
    ? `UNION ALL
       SELECT st.k::BIGINT AS actor, -row_number() OVER () AS seq, st.at AS ms,
         (${stageSteps
           .map(
             ({ stage, k }) =>
               `CASE WHEN (lower(st.stage) = ${sqlString(stage.toLowerCase())} OR lower(st.name) = ${sqlString(stage.toLowerCase())})${k === 0 || q.order === 'unordered' ? ` AND st.at < ${Math.trunc(range.toMs)}` : ''} THEN ${2 ** k} ELSE 0 END`,
           )
           .join(' + ')})::INTEGER AS steps,
         0 AS exclusions, NULL::VARCHAR AS breakdown
       FROM (${stages.relation}) st
       WHERE st.at >= ${Math.trunc(range.fromMs)} AND st.at <= ${Math.trunc(range.toMs + window)}`
    : '';
  // Who is in the funnel: an actor with a step-0 row in range (unordered: any step's).
  const enters = q.order === 'unordered' ? 'steps <> 0' : 'steps & 1 <> 0';
  // (kind 2: how many, and how many still within their window — in `seq`; kind 1: per value.)
  // An actor whose rows only ever fill step 0 (no other step, no exclusion) reached step 0 and
  // nothing more, whatever their order: counted here, never sent to the fold. Unordered: rows
  // that all fill one and the same step.
  const trivial =
    q.order === 'unordered'
      ? 'count(DISTINCT steps) = 1 AND bit_count(min(steps)) = 1 AND max(exclusions) = 0'
      : 'bool_and(steps = 1 AND exclusions = 0)';
  // (ms, seq) as one HUGEINT, ordered the same for any BIGINT seq: a quarter cheaper to compare
  // than the struct over millions of rows.
  const order = 'ms::HUGEINT * 18446744073709551616 + seq';
  const value = !q.breakdown
    ? 'NULL::VARCHAR'
    : q.breakdown.attribution === 'first_touch'
      ? `coalesce(arg_min(breakdown, ${order}) FILTER (WHERE breakdown IS NOT NULL AND steps <> 0), '')`
      : q.breakdown.attribution === 'last_touch'
        ? `coalesce(arg_max(breakdown, ${order}) FILTER (WHERE breakdown IS NOT NULL AND steps <> 0), '')`
        : q.breakdown.attribution === 'step' && q.breakdown.step > 0
          ? 'NULL::VARCHAR'
          : "unnest(list_distinct(list(coalesce(breakdown, ''))))";
  const noValue = q.breakdown?.attribution === 'step' && q.breakdown.step > 0;
  // First- or last-touch: one value per actor, decided here over all its rows, then carried by
  // each row the fold sees (the fold takes the first or last value its rows carry: this one), so
  // the rows can be pruned as without a breakdown.
  const touch = q.breakdown?.attribution === 'first_touch' || q.breakdown?.attribution === 'last_touch';
  // Rows of the other actors: in an ordered funnel without breakdown, of a run of rows that fill
  // only step 0 the fold needs the first and the last (the newest attempt is the one kept; the
  // first restores an attempt an exclusion spoiled; the actor's last row says whether the last
  // try is still within its window); the rows between change nothing.
  const prune = o.prune && q.order === 'ordered' && (!q.breakdown || touch);
  const rowValue = touch ? 'actors.value AS breakdown' : 'c.breakdown';
  const kept = prune
    ? `SELECT * FROM (SELECT c.actor, c.seq, c.ms, c.steps, c.exclusions, ${rowValue}, (steps <> 1 OR exclusions <> 0) AS sig,
         lag(steps <> 1 OR exclusions <> 0) OVER w AS prev_sig, lead(steps <> 1 OR exclusions <> 0) OVER w AS next_sig
         FROM c JOIN actors USING (actor) WHERE NOT actors.trivial
         WINDOW w AS (PARTITION BY actor ORDER BY ms, seq))
       WHERE sig OR coalesce(prev_sig, true) OR coalesce(next_sig, true)`
    : `SELECT c.actor, c.seq, c.ms, c.steps, c.exclusions, ${rowValue}
       FROM c JOIN actors USING (actor) WHERE ${o.prune ? 'NOT actors.trivial' : 'TRUE'}`;
  const events = actorEventsSql(workspaceId, {
    aggregateBy: q.aggregateBy,
    includeBots: q.includeBots,
    fromMs: range.fromMs,
    toMs: range.toMs + window + 1,
  });
  const sql = `
    WITH a AS (${events}),
    c AS MATERIALIZED (
      SELECT * FROM (
        SELECT a.actor, a.seq, a.ms, (${stepMask})::INTEGER AS steps, (${exclusionMask})::INTEGER AS exclusions,
          ${breakdown} AS breakdown
        FROM a ${needs.facts ? `JOIN event_facts f ON f.workspace_id = ${ws} AND f.seq = a.seq` : ''}
        ${needs.json ? `JOIN events e ON e.workspace_id = ${ws} AND e.seq = a.seq` : ''}
        ${touchJoin}
        ${stageJoin}
        ${strict ? '' : `WHERE ${prefilter}`}
        ${stageCandidates})
      ${strict ? '' : 'WHERE steps <> 0 OR exclusions <> 0'}
    ),
    actors AS MATERIALIZED (
      SELECT actor, ${trivial} AS trivial, max(ms) + ${window} > ${Math.trunc(o.nowMs)} AS open
        ${touch ? `, ${value} AS value` : ''}
      FROM c GROUP BY actor HAVING bool_or(${enters})
    )
    SELECT 0 AS kind, actor::DOUBLE AS actor, seq::DOUBLE AS seq, ms::DOUBLE AS ms, steps, exclusions, breakdown
    FROM (${kept})
    ${
      o.prune
        ? `UNION ALL
    SELECT 2, count(*)::DOUBLE, count(*) FILTER (WHERE open)::DOUBLE, NULL, NULL, NULL, NULL FROM actors WHERE trivial
    ${
      q.breakdown && !noValue
        ? `UNION ALL
    SELECT 1, count(*)::DOUBLE, count(*) FILTER (WHERE open)::DOUBLE, NULL, NULL, NULL, value FROM (
      ${
        touch
          ? 'SELECT value, open FROM actors WHERE trivial'
          : `SELECT actor, ${value} AS value, max(ms) + ${window} > ${Math.trunc(o.nowMs)} AS open
      FROM c WHERE actor IN (SELECT actor FROM actors WHERE trivial) GROUP BY actor`
      })
    GROUP BY value`
        : ''
    }`
        : ''
    }
    ORDER BY kind, actor, ms, seq`;
  return { sql, params: {} };
}

/**
 * Each subject's stage entries (`k` the person or account key, `at` epoch ms, `stage` id, `name`),
 * bots left out unless asked.
 */
function stageRowsSql(q: FunnelQuery, ws: string): { relation: string } {
  const subject = subjectOf(q.aggregateBy);
  const bots = q.includeBots
    ? ''
    : `AND k NOT IN (SELECT ${subject.key} FROM ${subject.tables.subjects} WHERE workspace_id = ${ws} AND bot IS NOT NULL)`;
  const keyed =
    subject.kind === 'person'
      ? `SELECT TRY_CAST(h.subject AS INTEGER) AS k, epoch_ms(h.entered_at) AS at, h.stage, h.name
         FROM stage_history h WHERE h.workspace_id = ${ws} AND h.subject_kind = 'person'`
      : `SELECT ak.account_key AS k, epoch_ms(h.entered_at) AS at, h.stage, h.name
         FROM stage_history h JOIN account_keys ak ON ak.workspace_id = h.workspace_id AND ak.group_id = h.subject
         WHERE h.workspace_id = ${ws} AND h.subject_kind = 'account'`;
  return { relation: `SELECT * FROM (${keyed}) WHERE k IS NOT NULL ${bots}` };
}
