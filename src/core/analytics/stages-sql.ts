import { ACCOUNTS, PERSONS } from '../journey/journey-subjects.js';
import { conditionSql, messageFieldSql, sqlSourceCategory, sqlString } from '../journey/rules-sql.js';
import { type StageModel, stageModelSchema } from '../journey/stages.js';
import type { StagesQuery } from './stages-query.js';
import { DURATION_BINS_S } from './stages-result.js';

/**
 * Stage analytics in SQL, over the stored `stage_history` of persons or accounts. Every statement
 * starts from one relation, `spans`: each stage a subject entered, in order (`pos` 0, 1, …), with
 * the stage before it, when the next one began (NULL: still in it), its place in the workspace's
 * stage model (`idx`) and the furthest place it reached afterwards.
 *
 * Inactivity due after a subject's last event: the server writes it into `stage_history` once a
 * minute (so the person lists see it); here it is taken as of `$now`, as a journey read does: the
 * rows a sweep wrote after the last event are left out and the one due now is added, by the rules
 * of `dueInactivitySql` (core/journey/stage-sql.ts). So the answer does not depend on when the
 * last sweep ran.
 *
 * Counted entries are those with `entered_at` in [from, to); what follows them may be later.
 *
 * It is one statement: `spans` is materialized once and the five sections (transitions, stages,
 * pairs, cohorts, reach) each come back as one sorted list of rows in one result row. Five
 * statements each rebuilt `spans`, and the subjects' last event times with it (a pass over every
 * journey step), which cost five times what the sections themselves do. The workspace and the
 * clock are inlined as literals, since DuckDB cannot bind parameters inside a materialized CTE.
 */

export const STAGE_SECTIONS = ['transitions', 'stages', 'pairs', 'cohorts', 'reach'] as const;
export type StageSection = (typeof STAGE_SECTIONS)[number];

/** One statement with one row: a column per section (STAGE_SECTIONS), each a list of row structs. */
export function stagesSql(workspaceId: string, q: StagesQuery, model: StageModel, nowMs: number): string {
  const ws = sqlString(workspaceId);
  const now = `${Math.trunc(nowMs)}::DOUBLE`;
  const parsed = stageModelSchema.parse(model);
  const subject = q.subject === 'account' ? ACCOUNTS : PERSONS;
  const { kind, key, tables } = subject;
  // Subjects by their integer key (stage_history names a person by its key as text, an account
  // by its group id): every join, window and grouping below is then on integers, not strings.
  const historyKey = kind === 'person' ? 'TRY_CAST(h.subject AS INTEGER)' : 'ak.account_key';
  const historyJoin =
    kind === 'person'
      ? ''
      : 'JOIN account_keys ak ON ak.workspace_id = h.workspace_id AND ak.group_id = h.subject';
  const order = parsed.stages.map((s, i) => `(${sqlString(s.id)}, ${i})`).join(', ');
  const rules = parsed.stages.flatMap((s, index) =>
    s.inactivity ? [{ id: s.id, name: s.name, index, days: s.inactivity.days, from: s.inactivity.from }] : [],
  );
  const bots = q.includeBots
    ? ''
    : `AND ${historyKey} NOT IN (SELECT ${key} FROM ${tables.subjects} WHERE workspace_id = ${ws} AND bot IS NOT NULL)`;
  const due = rules.length
    ? `, rules AS (${rules
        .map(
          (r) =>
            `SELECT ${sqlString(r.id)} AS stage, ${r.index} AS idx, ${r.days}::DOUBLE AS days, [${r.from.map(sqlString).join(', ')}]::VARCHAR[] AS from_stages`,
        )
        .join(' UNION ALL ')}),
      cur AS (
        SELECT l.subject, l.last_at, h.position, coalesce(h.stage, '(none)') AS stage
        FROM lastev l LEFT JOIN (
          SELECT subject, max(position) AS position, arg_max(stage, position) AS stage FROM h1 GROUP BY subject
        ) h ON h.subject = l.subject
      ),
      due AS (
        SELECT subject, position, stage, due_ms FROM (
          SELECT c.subject, coalesce(c.position + 1, 0) AS position, r.stage, c.last_at + r.days * 86400000 AS due_ms,
            row_number() OVER (PARTITION BY c.subject ORDER BY c.last_at + r.days * 86400000, r.idx) AS k
          FROM cur c JOIN rules r ON list_contains(r.from_stages, c.stage) AND r.stage <> c.stage)
        WHERE k = 1 AND due_ms <= ${now}
      )`
    : '';
  const traitsOwner =
    kind === 'person'
      ? `SELECT person_key AS subject, key, value FROM person_traits WHERE workspace_id = ${ws}`
      : `SELECT ak.account_key AS subject, t.key, t.value FROM account_traits t
         JOIN account_keys ak ON ak.workspace_id = t.workspace_id AND ak.group_id = t.group_id
         WHERE t.workspace_id = ${ws}`;
  const kept = q.where
    ? `JOIN (
        SELECT s.subject FROM (SELECT DISTINCT subject FROM allspans) s
        LEFT JOIN (
          SELECT subject, json_group_object(key, coalesce(TRY_CAST(value AS JSON), to_json(value))) AS traits
          FROM (${traitsOwner}) GROUP BY subject
        ) tr ON tr.subject = s.subject
        WHERE ${conditionSql(q.where, {
          field: (name) => messageFieldSql('traits', name.slice('traits.'.length), 'tr'),
          category: (name) =>
            sqlSourceCategory(messageFieldSql('traits', name.slice('traits.'.length), 'tr').text),
        })}
      ) kept ON kept.subject = a.subject`
    : '';
  const prefix = `
    WITH h0 AS (
      SELECT ${historyKey} AS subject, h.position, h.stage, epoch_ms(h.entered_at)::DOUBLE AS ts, h.trigger_kind
      FROM stage_history h ${historyJoin}
      WHERE h.workspace_id = ${ws} AND h.subject_kind = '${kind}' AND ${historyKey} IS NOT NULL ${bots}
    ),
    lastev AS (
      SELECT ${key} AS subject, epoch_ms(last_event_at)::DOUBLE AS last_at FROM ${tables.subjects}
      WHERE workspace_id = ${ws} AND bot IS NULL AND last_event_at IS NOT NULL
    ),
    -- Only inactivity rows need the last event: the others go through without a join.
    h1 AS (
      SELECT * FROM h0 WHERE trigger_kind IS DISTINCT FROM 'inactivity'
      UNION ALL
      SELECT h0.* FROM h0 LEFT JOIN lastev l ON l.subject = h0.subject
      WHERE h0.trigger_kind = 'inactivity' AND NOT (l.last_at IS NOT NULL AND h0.ts > l.last_at)
    )${due},
    allspans AS (
      SELECT subject, position, stage, ts FROM h1
      ${rules.length ? 'UNION ALL SELECT subject, position, stage, due_ms FROM due' : ''}
    ),
    ord(stage, idx) AS (VALUES ${order}),
    spans AS MATERIALIZED (
      SELECT a.subject, a.stage, coalesce(o.idx, 1000) AS idx, a.ts,
        row_number() OVER w - 1 AS pos,
        lead(a.ts) OVER w AS next_at,
        lag(a.stage) OVER w AS prev_stage,
        max(coalesce(o.idx, 1000)) OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS later_idx
      FROM allspans a LEFT JOIN ord o ON o.stage = a.stage ${kept}
      WINDOW w AS (PARTITION BY a.subject ORDER BY a.position)
    )`;
  const inRange = (col: string) =>
    [
      q.fromMs !== null ? `${col} >= ${Math.trunc(q.fromMs)}` : '',
      q.toMs !== null ? `${col} < ${Math.trunc(q.toMs)}` : '',
    ]
      .filter(Boolean)
      .join(' AND ') || 'TRUE';
  // Every column is named: a section's rows travel as structs, whose field names must differ.
  const stats = (
    d: string,
  ) => `quantile_cont(${d}, 0.5)::DOUBLE AS p50, quantile_cont(${d}, 0.75)::DOUBLE AS p75,
    avg(${d})::DOUBLE AS mean,
    [${DURATION_BINS_S.map((lo, i) => {
      const hi = DURATION_BINS_S[i + 1];
      return `count(*) FILTER (WHERE ${d} >= ${lo * 1000}${hi !== undefined ? ` AND ${d} < ${hi * 1000}` : ''})`;
    }).join(', ')}]::DOUBLE[] AS bins`;
  // The cohort of a subject: the month (in the query's zone) it entered its first stage.
  const cohortOf = `strftime(timezone(${sqlString(q.timezone)}, make_timestamptz((ts * 1000)::BIGINT)), '%Y-%m')`;
  const sections: Record<StageSection, string> = {
    transitions: `SELECT from_stage, stage, sum(n)::DOUBLE AS n, count(*)::DOUBLE AS subjects FROM (
        SELECT coalesce(prev_stage, '(none)') AS from_stage, stage, subject, count(*) AS n
        FROM spans WHERE ${inRange('ts')} GROUP BY ALL
      ) GROUP BY from_stage, stage`,
    // Subjects counted from one row per (stage, subject): three DISTINCT counts each built their own
    // hash table of every span.
    stages: `WITH per AS (
        SELECT stage, subject, bool_or(later_idx > idx AND idx < 1000) AS advanced, bool_or(next_at IS NULL) AS current
        FROM spans WHERE ${inRange('ts')} GROUP BY stage, subject
      ),
      subjects AS (
        SELECT stage, count(*)::DOUBLE AS entered, count(*) FILTER (WHERE advanced)::DOUBLE AS advanced,
          count(*) FILTER (WHERE current)::DOUBLE AS current
        FROM per GROUP BY stage
      ),
      entries AS (
        SELECT stage, count(*)::DOUBLE AS entries, count(*) FILTER (WHERE next_at IS NOT NULL)::DOUBLE AS exits,
          ${stats('CASE WHEN next_at IS NOT NULL THEN next_at - ts END')}
        FROM spans WHERE ${inRange('ts')} GROUP BY stage
      )
      SELECT s.stage, s.entered, e.entries, s.advanced, s.current, e.exits, e.p50, e.p75, e.mean, e.bins
      FROM subjects s JOIN entries e ON e.stage = s.stage`,
    // Per subject, from its first entry of A in range to its first entry of B after it.
    pairs: `WITH firsts AS (
        SELECT subject, stage AS a, min(pos) AS a_pos, arg_min(ts, pos) AS a_at FROM spans WHERE ${inRange('ts')} GROUP BY ALL
      ),
      pairs AS (
        SELECT f.a, s.stage AS b, f.subject, min(s.ts) - f.a_at AS d
        FROM firsts f JOIN spans s ON s.subject = f.subject AND s.pos > f.a_pos AND s.stage <> f.a
        GROUP BY f.a, s.stage, f.subject, f.a_at
      )
      SELECT a, b, count(*)::DOUBLE AS n, ${stats('d')} FROM pairs GROUP BY a, b`,
    cohorts: 'SELECT cohort, count(*)::DOUBLE AS n FROM firstspan GROUP BY cohort',
    reach: `WITH reach AS (
        SELECT f.cohort, s.stage, f.subject, min(s.ts) - f.first_at AS d
        FROM firstspan f JOIN spans s ON s.subject = f.subject AND s.pos > 0 AND s.idx > f.first_idx AND s.idx < 1000
        GROUP BY f.cohort, s.stage, f.subject, f.first_at
      )
      SELECT cohort, stage, count(*)::DOUBLE AS n, quantile_cont(d, 0.5)::DOUBLE AS p50,
        quantile_cont(d, 0.75)::DOUBLE AS p75
      FROM reach GROUP BY ALL`,
  };
  // Each section's rows sorted by their leading columns (unique in every section), as ORDER BY ALL.
  return `${prefix},
    firstspan AS (
      SELECT subject, ts AS first_at, idx AS first_idx, ${cohortOf} AS cohort FROM spans WHERE pos = 0 AND ${inRange('ts')}
    )
    SELECT ${STAGE_SECTIONS.map((k) => `(SELECT coalesce(list(x ORDER BY x), []) FROM (${sections[k]}) x) AS ${k}`).join(',\n      ')}`;
}
