import { conditionSql, sqlString } from '../journey/rules-sql.js';
import { actorEventsSql, subjectOf } from './actor-events.js';
import { EVENT_FIELDS, eventFieldSql, fieldsOf, needsOf } from './event-fields-sql.js';
import { type FunnelQuery, windowMs } from './funnel-query.js';

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
  /** The query reads bound parameters `$ws` only. */
  params: { ws: string };
}

export function funnelSql(
  workspaceId: string,
  q: FunnelQuery,
  range: { fromMs: number; toMs: number },
): FunnelSql {
  const window = windowMs(q);
  const subject = subjectOf(q.aggregateBy);
  const events = actorEventsSql(workspaceId, {
    aggregateBy: q.aggregateBy,
    includeBots: q.includeBots,
    fromMs: range.fromMs,
    toMs: range.toMs + window + 1,
  });
  const fields = [
    ...q.steps.flatMap((s) => fieldsOf(s.where)),
    ...q.exclusions.flatMap((x) => fieldsOf(x.where)),
    ...(q.breakdown ? [q.breakdown.field] : []),
  ];
  const needs = needsOf(fields);
  const eventMatch = (s: { event?: string | undefined; where?: unknown }) =>
    [
      s.event !== undefined ? `f.event = ${sqlString(s.event)}` : '',
      s.where !== undefined ? conditionSql(s.where as never, EVENT_FIELDS) : '',
    ]
      .filter(Boolean)
      .join(' AND ') || 'TRUE';
  const before = `a.ms < ${Math.trunc(range.toMs)}`;
  const stepFlags = q.steps.map((s, k) =>
    s.stage !== undefined ? 'FALSE' : k === 0 ? `(${eventMatch(s)} AND ${before})` : `(${eventMatch(s)})`,
  );
  const exclusionFlags = q.exclusions.map((x) => `(${eventMatch(x)})`);
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
  const ws = '$ws';
  const touchJoin = needs.touchpoint
    ? `ASOF LEFT JOIN (SELECT ${subject.key} AS k, epoch_ms(event_at) AS at, source, medium, campaign, referring_domain
         FROM ${subject.tables.touchpoints} WHERE workspace_id = ${ws}) tp
       ON tp.k = a.subject_key AND a.ms >= tp.at`
    : '';
  const stages = stageRowsSql(q, ws);
  const stageJoin = needs.stage
    ? `ASOF LEFT JOIN (${stages.relation}) st ON st.k = a.subject_key AND a.ms >= st.at`
    : '';
  const candidates = q.order === 'strict' ? 'TRUE' : `(${stepMask}) <> 0 OR (${exclusionMask}) <> 0`;
  const stageSteps = q.steps.flatMap((s, k) => (s.stage !== undefined ? [{ stage: s.stage, k }] : []));
  const stageCandidates = stageSteps.length
    ? `UNION ALL
       SELECT st.k::BIGINT AS actor, -row_number() OVER () AS seq, st.at AS ms,
         (${stageSteps
           .map(
             ({ stage, k }) =>
               `CASE WHEN (lower(st.stage) = ${sqlString(stage.toLowerCase())} OR lower(st.name) = ${sqlString(stage.toLowerCase())})${k === 0 ? ` AND st.at < ${Math.trunc(range.toMs)}` : ''} THEN ${2 ** k} ELSE 0 END`,
           )
           .join(' + ')})::INTEGER AS steps,
         0 AS exclusions, NULL::VARCHAR AS breakdown
       FROM (${stages.relation}) st
       WHERE st.at >= ${Math.trunc(range.fromMs)} AND st.at <= ${Math.trunc(range.toMs + window)}`
    : '';
  const sql = `
    WITH a AS (${events}),
    c AS (
      SELECT a.actor, a.seq, a.ms, (${stepMask})::INTEGER AS steps, (${exclusionMask})::INTEGER AS exclusions,
        ${breakdown} AS breakdown
      FROM a JOIN event_facts f ON f.workspace_id = ${ws} AND f.seq = a.seq
      ${needs.json ? `JOIN events e ON e.workspace_id = ${ws} AND e.seq = a.seq` : ''}
      ${touchJoin}
      ${stageJoin}
      WHERE ${candidates}
      ${stageCandidates}
    )
    SELECT actor::DOUBLE AS actor, seq::DOUBLE AS seq, ms::DOUBLE AS ms, steps, exclusions, breakdown
    FROM c
    WHERE actor IN (SELECT actor FROM c WHERE steps & 1 <> 0)
    ORDER BY actor, ms, seq`;
  return { sql, params: { ws: workspaceId } };
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
