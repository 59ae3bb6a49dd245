import { stepPageSql } from '../journey/journey-sql.js';
import { ACCOUNTS, type JourneySubject, PERSONS } from '../journey/journey-subjects.js';
import { sqlString } from '../journey/rules-sql.js';

/**
 * Whose events an analytics query counts, as one SQL relation every query starts from: each
 * event of a workspace once per actor it belongs to, identity-stitched (through the person map,
 * so a merge moves a person's whole history at once), at its event time.
 *
 * - `person` (default) and `account` read the journey tables, which leave bot traffic out (bot
 *   events, and subjects judged bots); `includeBots` reads the events of every identifier instead.
 * - `session` counts each session of a person's journey as an actor (events outside sessions,
 *   server-side ones, belong to none).
 */

export const AGGREGATES = ['person', 'account', 'session'] as const;
export type AggregateBy = (typeof AGGREGATES)[number];

export interface ActorEventsOptions {
  aggregateBy: AggregateBy;
  includeBots: boolean;
  /** Only events at or after this time (epoch ms) … */
  fromMs?: number;
  /** … and before this one. */
  toMs?: number;
}

export const subjectOf = (a: AggregateBy): JourneySubject => (a === 'account' ? ACCOUNTS : PERSONS);

/**
 * Columns: `actor` (BIGINT: the person or account key; for sessions the person key × 2^24 +
 * session), `subject_key` (the person or account key), `seq`, `ms` (event time, epoch ms),
 * `channel` (the channel in effect; NULL with `includeBots`), `event` and `type` (the event's name
 * and type, as event_facts has them), `name_code` (their pair's code, name-codes.ts; NULL with
 * `includeBots`), `page` (a page view's path or URL as journey maps name it, journey-sql.ts
 * stepPageSql; NULL for other events) and `event_at` (the event time as a TIMESTAMP).
 * A session of `actor` a is `a & 16777215`, its person `a >> 24`.
 */
export function actorEventsSql(workspaceId: string, o: ActorEventsOptions): string {
  const ws = sqlString(workspaceId);
  const subject = subjectOf(o.aggregateBy);
  const range = (col: string) =>
    [
      o.fromMs !== undefined ? `${col} >= make_timestamp(${Math.trunc(o.fromMs) * 1000})` : '',
      o.toMs !== undefined ? `${col} < make_timestamp(${Math.trunc(o.toMs) * 1000})` : '',
    ]
      .filter(Boolean)
      .map((c) => ` AND ${c}`)
      .join('');
  if (o.includeBots) {
    if (o.aggregateBy === 'session')
      throw new Error('sessions are derived without bot traffic: includeBots needs person or account');
    return `SELECT r.person::BIGINT AS actor, r.person AS subject_key, r.seq, epoch_ms(f.timestamp) AS ms,
        NULL::VARCHAR AS channel, f.event, f.type, NULL::INTEGER AS name_code, ${stepPageSql('f')} AS page,
        f.timestamp AS event_at
      FROM (${subject.relation(workspaceId)}) r
      JOIN event_facts f ON f.workspace_id = ${ws} AND f.seq = r.seq
      WHERE TRUE${range('f.timestamp')}`;
  }
  const { key, tables } = subject;
  const actor = o.aggregateBy === 'session' ? `(s.${key}::BIGINT << 24) + s.session` : `s.${key}::BIGINT`;
  return `SELECT ${actor} AS actor, s.${key} AS subject_key, s.seq, epoch_ms(s.event_at) AS ms, s.channel,
      s.event, s.type, s.name_code, s.page, s.event_at
    FROM ${tables.steps} s
    WHERE s.workspace_id = ${ws}${o.aggregateBy === 'session' ? ' AND s.session IS NOT NULL' : ''}${range('s.event_at')}
      AND s.${key} NOT IN (SELECT ${key} FROM ${tables.subjects} WHERE workspace_id = ${ws} AND bot IS NOT NULL)`;
}
