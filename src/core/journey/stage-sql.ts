import type { Condition } from './conditions.js';
import { type JourneySubject, PERSONS } from './journey-subjects.js';
import {
  conditionSql,
  type FieldResolver,
  type FieldSql,
  sqlJsNumber,
  sqlLowerJs,
  sqlSourceCategory,
  sqlString,
} from './rules-sql.js';
import { type StageModel, stageModelSchema } from './stages.js';

/**
 * The candidate rows of the bulk stage fold, in SQL. A person's stage changes only at an event a
 * trigger matches, or after a stretch of inactivity; every other event leaves the fold as it
 * was (it only moves "last activity", which each row carries as `prev_at`). So the database
 * evaluates every trigger's condition per journey step, and JavaScript folds (StageFold) only
 * over the rows that may move a stage:
 *
 * - rows where a trigger with `from` may match, and rows where an inactivity rule may lapse (the
 *   first row after a gap as long as the shortest rule), are kept: they can move a person
 *   anywhere, backwards too. They cut a person's rows into segments;
 * - inside a segment the stage only moves forward, so a forward-only trigger (no `from`) can fire
 *   at its first matching row or never: only that row is kept, per trigger and segment (a later
 *   match finds the person at that stage or further);
 * - a row some trigger may match but SQL cannot tell (`uncertain`: the condition reads
 *   `properties.*`, `traits.*`, `context.*` or a derived touch field, which JavaScript evaluates
 *   on the whole event) is kept; with `traits.*` in the model every identify call is kept too,
 *   since the person's traits as of a later event come from them;
 * - each person's last row is kept (the inactivity due as of now starts there).
 *
 * The bits of `mask` say which triggers surely match a kept row (bit = trigger number).
 */

/** Triggers that fit the mask (an INTEGER); a model with more is folded in JavaScript throughout. */
const MAX_MASKED = 30;

export interface StageTrigger {
  stage: number;
  trigger: number;
}

export interface StageCandidateQuery {
  /**
   * Rows: person_key, seq, ms (the event's time), prev_at (ms | NULL), mask, uncertain, type,
   * session, tp_channel. Ordered by person, then (ms, seq).
   */
  sql: string;
  /** Trigger of each mask bit. */
  triggers: StageTrigger[];
  /** Whether the model reads the person's traits (identify calls are kept and parsed). */
  readsTraits: boolean;
}

/** The fields SQL can read for stage conditions, over the relation built below. */
const KNOWN: Record<string, FieldSql> = {
  // Lower-cased once per row (`event_lower` below), not once per condition.
  event: { text: 'event', num: sqlJsNumber('event'), lowered: 'event_lower' },
  type: { text: 'type', num: sqlJsNumber('type') },
  touchpoint: { text: 'tp_channel', num: sqlJsNumber('tp_channel') },
  session_number: { text: '(session + 1)::VARCHAR', num: '(session + 1)::DOUBLE' },
};

/**
 * SQL that is TRUE when the condition may hold (`maybe`) or surely holds (`surely`), with the
 * fields SQL cannot read taken as unknown.
 */
function bounds(c: Condition): { maybe: string; surely: string; exact: boolean } {
  if ('else' in c) return { maybe: 'TRUE', surely: 'TRUE', exact: true };
  if ('all' in c || 'any' in c) {
    const parts = ('all' in c ? c.all : c.any).map(bounds);
    const join = 'all' in c ? ' AND ' : ' OR ';
    return {
      maybe: `(${parts.map((p) => p.maybe).join(join)})`,
      surely: `(${parts.map((p) => p.surely).join(join)})`,
      exact: parts.every((p) => p.exact),
    };
  }
  if ('not' in c) {
    const inner = bounds(c.not);
    return { maybe: `(NOT ${inner.surely})`, surely: `(NOT ${inner.maybe})`, exact: inner.exact };
  }
  const known = KNOWN[c.field];
  if (!known) return { maybe: 'TRUE', surely: 'FALSE', exact: false };
  const resolver: FieldResolver = {
    field: () => known,
    category: () => sqlSourceCategory(known.text),
  };
  const sql = conditionSql(c, resolver);
  return { maybe: sql, surely: sql, exact: true };
}

function readsTraits(c: Condition): boolean {
  if ('else' in c) return false;
  if ('all' in c) return c.all.some(readsTraits);
  if ('any' in c) return c.any.some(readsTraits);
  if ('not' in c) return readsTraits(c.not);
  return c.field.startsWith('traits.');
}

const DAY_MS = 86_400_000;

/**
 * The candidate query over `journey_steps` (alias-free; `$ws` is the workspace) for a stage
 * model (validated before: compile it with CompiledStageModel first). `persons`, when given, is
 * a SQL relation of person keys to restrict to.
 */
export function stageCandidateQuery(
  model: StageModel,
  o: { persons?: string; subject?: JourneySubject } = {},
): StageCandidateQuery {
  const { persons } = o;
  const { key, tables } = o.subject ?? PERSONS;
  const parsed = stageModelSchema.parse(model);
  const triggers: (StageTrigger & { when: Condition; forward: boolean })[] = [];
  parsed.stages.forEach((s, stage) => {
    s.enter.forEach((t, trigger) => {
      triggers.push({ stage, trigger, when: t.when as Condition, forward: t.from === undefined });
    });
  });
  const traits = triggers.some((t) => readsTraits(t.when));
  const masked = triggers.length <= MAX_MASKED;
  const b = triggers.map((t) => bounds(t.when));
  const bit = (i: number) => 2 ** i;
  const mask = masked
    ? b.map((x, i) => `(CASE WHEN ${x.surely} THEN ${bit(i)} ELSE 0 END)`).join(' + ') || '0'
    : '0';
  const uncertain = masked
    ? b
        .filter((x) => !x.exact)
        .map((x) => `(${x.maybe} AND NOT ${x.surely})`)
        .join(' OR ') || 'FALSE'
    : 'TRUE';
  // Rows a `from` trigger may match: they may move the person anywhere.
  const anywhere =
    triggers
      .map((t, i) => (t.forward ? null : (b[i] as { maybe: string }).maybe))
      .filter((x) => x !== null)
      .join(' OR ') || 'FALSE';
  const forward = masked ? triggers.flatMap((t, i) => (t.forward ? [i] : [])) : [];
  const days = parsed.stages.flatMap((s) => (s.inactivity ? [s.inactivity.days] : []));
  const lapse = days.length > 0 ? `coalesce(ms - prev_at >= ${Math.min(...days) * DAY_MS}, false)` : 'FALSE';
  const keepTraits = traits ? `OR type = 'identify'` : '';
  // Per segment, the first row each forward trigger matches: segments start at each person's
  // first row, after a row that may move the person anywhere, and at a lapse (few rows); the
  // first match of a segment is the smallest matching row at or after its start (a later
  // segment's first match, when it lies beyond the segment, is kept anyway).
  const forwardBits = forward.reduce((a, i) => a + bit(i), 0);
  const firstOf = forward.map((i) => `min(CASE WHEN m.mask & ${bit(i)} <> 0 THEN m.rn END)`);
  const sql = `
    WITH steps AS (
      SELECT *, (${mask})::INTEGER AS mask, (${uncertain}) AS uncertain, (${anywhere}) AS anywhere
      FROM (
        SELECT s.${key} AS person_key, s.seq, epoch_ms(s.event_at) AS ms, s.session, f.type, f.event,
          tp.channel AS tp_channel, ${sqlLowerJs('f.event')} AS event_lower
        FROM ${tables.steps} s
        JOIN event_facts f ON f.workspace_id = s.workspace_id AND f.seq = s.seq
        LEFT JOIN ${tables.touchpoints} tp
          ON tp.workspace_id = s.workspace_id AND tp.${key} = s.${key} AND tp.seq = s.seq
        WHERE s.workspace_id = $ws ${persons ? `AND s.${key} IN (${persons})` : ''}
          AND s.${key} NOT IN (SELECT ${key} FROM ${tables.subjects} WHERE workspace_id = $ws AND bot IS NOT NULL)
      )
    ),
    marked AS (
      SELECT *, lag(ms) OVER w AS prev_at, lead(ms) OVER w IS NULL AS last, row_number() OVER w AS rn
      FROM steps WINDOW w AS (PARTITION BY person_key ORDER BY ms, seq)
    ),
    lapsing AS (SELECT *, ${lapse} AS lapse FROM marked),
    matching AS (SELECT person_key, rn, mask FROM lapsing WHERE mask & ${forwardBits} <> 0),
    starts AS (
      SELECT DISTINCT person_key, 1 AS start FROM matching
      UNION ALL SELECT person_key, rn + 1 FROM lapsing WHERE anywhere
      UNION ALL SELECT person_key, rn FROM lapsing WHERE lapse
    ),
    firsts AS (
      SELECT DISTINCT st.person_key, unnest([${firstOf.join(', ') || 'NULL::BIGINT'}]) AS rn
      FROM starts st JOIN matching m ON m.person_key = st.person_key AND m.rn >= st.start
      GROUP BY st.person_key, st.start
    )
    SELECT person_key, seq, ms, prev_at, mask, uncertain, type, session, tp_channel
    FROM lapsing
    WHERE uncertain OR anywhere OR lapse OR last ${keepTraits}
      OR (person_key, rn) IN (SELECT person_key, rn FROM firsts WHERE rn IS NOT NULL)
    ORDER BY person_key, ms, seq`;
  return { sql, triggers: triggers.map(({ stage, trigger }) => ({ stage, trigger })), readsTraits: traits };
}

/**
 * Inactivity that came due after each person's last event, written into `stage_history` (the
 * span `StageFold.historyAsOf` adds on reading) so that lists filtered by current stage agree
 * with journeys: a customer gone quiet for half a year is churned in both. The next event of the
 * person rebuilds its history, where the fold lapses at that event: the same span. Statements
 * to run in order, in one transaction, with `$ws` and `$now` (epoch ms).
 */
export function dueInactivitySql(
  model: StageModel,
  subject: JourneySubject = PERSONS,
): DueInactivityStatement[] {
  const parsed = stageModelSchema.parse(model);
  const rules = parsed.stages.flatMap((s, index) =>
    s.inactivity ? [{ id: s.id, name: s.name, index, days: s.inactivity.days, from: s.inactivity.from }] : [],
  );
  if (rules.length === 0) return [];
  const statement = (sql: string): DueInactivityStatement => ({
    sql,
    params: (ws, now) => ({
      ...(sql.includes('$ws') ? { ws } : {}),
      ...(sql.includes('$now') ? { now } : {}),
    }),
  });
  // The earliest due wins; on a tie, the stage listed first (as the fold's strict < does).
  const due = rules
    .map(
      (
        r,
      ) => `SELECT ${sqlString(r.id)} AS stage, ${sqlString(r.name)} AS name, ${r.index} AS idx, ${r.days}::DOUBLE AS days,
        [${r.from.map(sqlString).join(', ')}] AS from_stages`,
    )
    .join(' UNION ALL ');
  const { kind, key, tables } = subject;
  const named = subject.stageSubject('p', key);
  // Each sweep starts from the folded history: what an earlier sweep wrote after the last event is
  // taken back first (the model adds at most one inactivity step after the last event; a second
  // sweep must not chain another onto the first).
  return [
    `CREATE OR REPLACE TEMP TABLE stage_last AS
       SELECT ${named.subject} AS subject, p.last_event_at AS last_at
       FROM ${tables.subjects} p ${named.join}
       WHERE p.workspace_id = $ws AND p.bot IS NULL AND p.last_event_at IS NOT NULL`,
    `DELETE FROM stage_history h USING stage_last l
     WHERE h.workspace_id = $ws AND h.subject_kind = '${kind}' AND h.subject = l.subject
       AND h.trigger_kind = 'inactivity' AND h.entered_at > l.last_at`,
    `UPDATE stage_history h SET exited_at = NULL FROM stage_last l
     WHERE h.workspace_id = $ws AND h.subject_kind = '${kind}' AND h.subject = l.subject
       AND h.exited_at > l.last_at`,
    `CREATE OR REPLACE TEMP TABLE stage_due AS
     WITH current AS (
       SELECT p.subject, p.last_at, h.position, coalesce(h.stage, '(none)') AS stage
       FROM stage_last p LEFT JOIN (
         SELECT subject, position, stage, row_number() OVER (PARTITION BY subject ORDER BY position DESC) AS r
         FROM stage_history WHERE workspace_id = $ws AND subject_kind = '${kind}'
       ) h ON h.subject = p.subject AND h.r = 1
     ),
     rules AS (${due}),
     candidates AS (
       SELECT c.subject, c.position, r.stage, r.name, r.days,
         epoch_ms(c.last_at) + r.days * 86400000 AS due_ms,
         row_number() OVER (PARTITION BY c.subject ORDER BY epoch_ms(c.last_at) + r.days * 86400000, r.idx) AS k
       FROM current c JOIN rules r ON list_contains(r.from_stages, c.stage) AND r.stage <> c.stage
     )
     SELECT subject, position, stage, name, days, due_ms FROM candidates
     WHERE k = 1 AND due_ms <= $now::DOUBLE`,
    `UPDATE stage_history h SET exited_at = make_timestamp((d.due_ms * 1000)::BIGINT)
     FROM stage_due d
     WHERE h.workspace_id = $ws AND h.subject_kind = '${kind}' AND h.subject = d.subject
       AND h.position = d.position`,
    `INSERT INTO stage_history
     SELECT $ws, '${kind}', subject, coalesce(position + 1, 0), stage, name,
       make_timestamp((due_ms * 1000)::BIGINT), NULL, 'inactivity', NULL, NULL, days
     FROM stage_due`,
    'DROP TABLE stage_due',
    'DROP TABLE stage_last',
  ].map(statement);
}

/** A statement and the parameters it binds (DuckDB refuses unused ones). */
export interface DueInactivityStatement {
  sql: string;
  params(workspaceId: string, now: number): Record<string, string | number>;
}
