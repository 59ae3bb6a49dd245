import type { DuckDBConnection } from '@duckdb/node-api';
import type { Fields, FieldValue } from '../core/journey/conditions.js';
import type { JourneyConfig } from '../core/journey/journey.js';
import { type JourneyEvent, journeyEventOf, pathOf, scalarOf } from '../core/journey/journey-event.js';
import { type JourneySubject, PERSONS } from '../core/journey/journey-subjects.js';
import { type StageCandidateQuery, stageCandidateQuery } from '../core/journey/stage-sql.js';
import { StageFold, type StageModel, type StageSpan } from '../core/journey/stages.js';
import { touchFieldAccessor, touchFieldsOf } from '../core/journey/touch-fields.js';
import { EVENT_COLUMNS, rowToEvent } from './event-rows.js';

/**
 * `stage_history` (migration 008) for persons or accounts, rebuilt from their journey tables: SQL picks the
 * rows that may move a stage and evaluates the triggers it can (core/journey/stage-sql.ts), and
 * the JavaScript fold (StageFold, the one the live journey uses) runs over those rows only.
 * Rows SQL cannot decide are folded on the whole event, read from `events`.
 *
 * Runs on the caller's connection, inside the caller's transaction if there is one. The tables
 * it reads (the subject's steps, touchpoints and subjects tables) must be current.
 */

export interface StageRebuild {
  persons: number;
  spans: number;
  /** Rows the fold read (after SQL left out what cannot move a stage). */
  rows: number;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

export async function rebuildStageHistory(
  c: DuckDBConnection,
  workspaceId: string,
  config: JourneyConfig,
  model: StageModel,
  o: { persons?: readonly number[]; subject?: JourneySubject } = {},
): Promise<StageRebuild> {
  const subject = o.subject ?? PERSONS;
  let persons: string | undefined;
  if (o.persons) {
    await keysTable(c, 'stage_persons', o.persons);
    persons = 'SELECT person_key FROM stage_persons';
  }
  const named = subject.stageSubject('s', 'person_key');
  await c.run(
    `DELETE FROM stage_history WHERE workspace_id = $ws AND subject_kind = '${subject.kind}'
     ${persons ? `AND subject IN (SELECT ${named.subject} FROM (SELECT $ws AS workspace_id, person_key FROM stage_persons) s ${named.join})` : ''}`,
    { ws: workspaceId },
  );
  await c.run(`CREATE OR REPLACE TEMP TABLE stage_spans (
    workspace_id VARCHAR, person_key INTEGER, position INTEGER, stage VARCHAR, name VARCHAR, entered_at DOUBLE, exited_at DOUBLE,
    trigger_kind VARCHAR, trigger_seq BIGINT, trigger_days DOUBLE)`);
  const out = { persons: 0, spans: 0, rows: 0 };
  // Histories are kept until the candidates are all read: an appender on the connection that
  // streams them flushes every 204,800 rows, and that flush would end the stream early, silently.
  const folded: [number, StageSpan[]][] = [];
  const write = (person: number, history: StageSpan[]) => {
    out.persons++;
    folded.push([person, history]);
  };
  await fold(
    c,
    workspaceId,
    config,
    stageCandidateQuery(model, { subject, ...(persons ? { persons } : {}) }),
    write,
    out,
  );
  const appender = await c.createAppender('stage_spans', 'main', 'temp');
  for (const [person, history] of folded)
    history.forEach((h, position) => {
      appender.appendVarchar(workspaceId);
      appender.appendInteger(person);
      appender.appendInteger(position);
      appender.appendVarchar(h.stage);
      appender.appendVarchar(h.name);
      appender.appendDouble(h.enteredAt);
      if (h.exitedAt === null) appender.appendNull();
      else appender.appendDouble(h.exitedAt);
      appender.appendVarchar(h.trigger.kind);
      // The fold carried the seq where the span keeps the message id (joined in below).
      if (h.trigger.kind === 'event') {
        appender.appendBigInt(BigInt(h.trigger.messageId));
        appender.appendNull();
      } else {
        appender.appendNull();
        appender.appendDouble(h.trigger.days);
      }
      appender.endRow();
      out.spans++;
    });
  appender.closeSync();
  await c.run(
    `INSERT INTO stage_history
     SELECT $ws, '${subject.kind}', ${named.subject}, s.position, s.stage, s.name,
       make_timestamp((s.entered_at * 1000)::BIGINT),
       CASE WHEN s.exited_at IS NOT NULL THEN make_timestamp((s.exited_at * 1000)::BIGINT) END,
       s.trigger_kind, e.message_id, CASE WHEN s.trigger_kind = 'event' THEN coalesce(e.event, e.name) END,
       s.trigger_days
     FROM stage_spans s ${named.join} LEFT JOIN events e ON e.workspace_id = $ws AND e.seq = s.trigger_seq
     ORDER BY s.person_key, s.position`,
    { ws: workspaceId },
  );
  await c.run('DROP TABLE stage_spans');
  return out;
}

/** Folds the candidate rows person by person. */
async function fold(
  c: DuckDBConnection,
  workspaceId: string,
  config: JourneyConfig,
  q: StageCandidateQuery,
  write: (person: number, history: StageSpan[]) => void,
  out: { rows: number },
): Promise<void> {
  await c.run(`CREATE OR REPLACE TEMP TABLE stage_candidates AS ${q.sql}`, { ws: workspaceId });
  // The rows JavaScript reads whole: those SQL could not decide, and identify calls when the
  // model reads traits.
  const whole = new Map<number, JourneyEvent>();
  const reader = await c.stream(
    `SELECT ${EVENT_COLUMNS} FROM events e
     WHERE e.workspace_id = $ws AND e.seq IN (
       SELECT seq FROM stage_candidates WHERE uncertain ${q.readsTraits ? `OR type = 'identify'` : ''})`,
    { ws: workspaceId },
  );
  for await (const chunk of reader.yieldRowsJs())
    for (const r of chunk) {
      const e = journeyEventOf(rowToEvent(r));
      whole.set(e.seq, e);
    }
  // What JavaScript's conditions read of the journey on those rows (per person: an event of two
  // persons has a session in each).
  const journeyOf = new Map<string, [unknown, unknown]>();
  const annotations = await c.stream(
    'SELECT person_key, seq::DOUBLE, session, tp_channel FROM stage_candidates WHERE uncertain',
  );
  for await (const chunk of annotations.yieldRowsJs())
    for (const r of chunk) journeyOf.set(`${num(r[0])}/${num(r[1])}`, [r[2], r[3]]);

  const bits: number[][] = [];
  q.triggers.forEach((t, bit) => {
    const row = bits[t.stage] ?? [];
    row[t.trigger] = 1 << bit;
    bits[t.stage] = row;
  });
  let person = -1;
  let state: StageFold | null = null;
  let traits: Record<string, FieldValue> = {};
  const finish = () => {
    if (state !== null) write(person, state.history);
  };
  const rows = await c.stream(
    // Numbers only (the trigger's event name is joined in when the spans are written).
    'SELECT person_key, seq::DOUBLE, ms::DOUBLE, prev_at::DOUBLE, mask, uncertain FROM stage_candidates ORDER BY person_key, ms, seq',
  );
  for await (const chunk of rows.yieldRowsJs()) {
    out.rows += chunk.length;
    for (const r of chunk) {
      const key = num(r[0]);
      if (key !== person) {
        finish();
        person = key;
        state = new StageFold(config.stages);
        traits = {};
      }
      const fold = state as StageFold;
      const seq = num(r[1]);
      const at = num(r[2]);
      if (r[3] !== null) fold.restedUntil(num(r[3]));
      const e = whole.get(seq);
      if (e?.type === 'identify' && e.traits)
        for (const [k, v] of Object.entries(e.traits)) traits[k] = scalarOf(v);
      if (r[5] === true) {
        if (!e) throw new Error(`event ${seq} of workspace ${workspaceId} is missing`);
        const [session, touchpoint] = journeyOf.get(`${key}/${seq}`) ?? [null, null];
        fold.step(at, String(seq), null, stageFields(e, config, traits, session, touchpoint));
      } else {
        const mask = num(r[4]);
        fold.stepMatching(
          at,
          String(seq),
          null,
          (stage, trigger) => (mask & (bits[stage]?.[trigger] ?? 0)) !== 0,
        );
      }
    }
  }
  finish();
  const expected = Number(
    (await c.runAndReadAll('SELECT count(*) FROM stage_candidates')).getRowsJS()[0]?.[0] ?? 0,
  );
  if (out.rows !== expected)
    throw new Error(`the stage fold read ${out.rows} of ${expected} candidate rows: stopped early`);
  await c.run('DROP TABLE stage_candidates');
}

/** The fields a stage condition reads on an event, as journey.ts's fold gives them. */
function stageFields(
  e: JourneyEvent,
  config: JourneyConfig,
  traits: Record<string, FieldValue>,
  session: unknown,
  touchpoint: unknown,
): Fields {
  const fields = touchFieldAccessor(e, touchFieldsOf(e, config.touch));
  return (field) => {
    if (field === 'touchpoint') return (touchpoint as string | null) ?? null;
    if (field === 'session_number') return session === null ? null : num(session) + 1;
    if (field.startsWith('traits.')) {
      const own = scalarOf(pathOf(e.traits, field.slice(7)));
      return own ?? traits[field.slice(7)] ?? null;
    }
    return fields(field);
  };
}

async function keysTable(c: DuckDBConnection, name: string, keys: readonly number[]): Promise<void> {
  await c.run(`CREATE OR REPLACE TEMP TABLE ${name} (person_key INTEGER)`);
  const a = await c.createAppender(name, 'main', 'temp');
  for (const k of keys) {
    a.appendInteger(k);
    a.endRow();
  }
  a.closeSync();
}
