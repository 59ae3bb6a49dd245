import type { DuckDBConnection } from '@duckdb/node-api';
import type { BotReason } from '../core/journey/bots.js';
import type { SessionSummary, Touchpoint } from '../core/journey/journey.js';
import type { JourneyRows, StepRow } from '../core/journey/journey-rows.js';
import { dueInactivitySql } from '../core/journey/stage-sql.js';
import type { StageModel, StageSpan } from '../core/journey/stages.js';
import { CLICK_IDS } from '../core/journey/touch-fields.js';
import type { MessageType } from '../core/spec/message.js';
import type {
  JourneyBuildCounts,
  JourneyBuildInput,
  JourneyBuildPhase,
  JourneyTablesState,
  JourneyTablesStore,
} from '../services/journey-ports.js';
import { rebuildJourneyTables } from './duckdb-journey-tables.js';
import { rebuildStageHistory } from './duckdb-stage-history.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/**
 * The journey tables (migrations 007 and 008) on their own connection: a rebuild is one
 * transaction (readers see the old rows until it commits), the sessions and touchpoints in SQL
 * (duckdb-journey-tables.ts), then the stage history folded over them (duckdb-stage-history.ts).
 */
export class DuckDBJourneyTablesStore implements JourneyTablesStore {
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  async rebuild(
    workspaceId: string,
    input: JourneyBuildInput,
    o: {
      persons?: readonly number[];
      state: Omit<JourneyTablesState, 'workspaceId'>;
      onPhase?: (p: JourneyBuildPhase) => void;
    },
  ): Promise<JourneyBuildCounts> {
    const persons = o.persons ? { persons: o.persons } : {};
    await this.conn.run('BEGIN TRANSACTION');
    try {
      o.onPhase?.('sessions and touchpoints');
      const tables = await rebuildJourneyTables(this.conn, workspaceId, input.settings, persons);
      o.onPhase?.('stage history');
      const stages = await rebuildStageHistory(
        this.conn,
        workspaceId,
        input.config,
        input.stageModel,
        persons,
      );
      await this.conn.run(
        `INSERT OR REPLACE INTO journey_state VALUES ($ws, $hash, $seq::BIGINT, now()::TIMESTAMP)`,
        { ws: workspaceId, hash: o.state.settingsHash, seq: o.state.builtSeq },
      );
      await this.conn.run('COMMIT');
      return { ...tables, stageSpans: stages.spans };
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async sweepInactivity(workspaceId: string, model: StageModel, now: number): Promise<void> {
    const statements = dueInactivitySql(model);
    if (statements.length === 0) return;
    await this.conn.run('BEGIN TRANSACTION');
    try {
      for (const st of statements) await this.conn.run(st.sql, st.params(workspaceId, now));
      await this.conn.run('COMMIT');
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async states(): Promise<JourneyTablesState[]> {
    const rows = (
      await this.reader.runAndReadAll(
        'SELECT workspace_id, settings_hash, built_seq::DOUBLE FROM journey_state',
      )
    ).getRowsJS();
    return rows.map((r) => ({
      workspaceId: r[0] as string,
      settingsHash: r[1] as string,
      builtSeq: num(r[2]),
    }));
  }

  async workspacesWithEvents(): Promise<string[]> {
    const rows = (await this.reader.runAndReadAll('SELECT id FROM workspaces ORDER BY 1')).getRowsJS();
    return rows.map((r) => r[0] as string);
  }

  async personsWithEventsIn(workspaceId: string, after: number, upTo: number): Promise<number[]> {
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT DISTINCT m.person_key FROM event_identity ei JOIN person_map m USING (identifier_id)
         WHERE ei.workspace_id = $ws AND ei.seq > $after::BIGINT AND ei.seq <= $upTo::BIGINT`,
        { ws: workspaceId, after, upTo },
      )
    ).getRowsJS();
    return rows.map((r) => num(r[0]));
  }

  async personKeysOf(workspaceId: string, personIds: readonly string[]): Promise<number[]> {
    if (personIds.length === 0) return [];
    const ids = JSON.stringify(personIds);
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT person_key FROM person_activity
           WHERE workspace_id = $ws AND person_id IN (SELECT unnest(from_json($ids, '["VARCHAR"]')))
         UNION SELECT alias_key FROM person_aliases
           WHERE workspace_id = $ws AND alias_id IN (SELECT unnest(from_json($ids, '["VARCHAR"]')))
         UNION SELECT person_key FROM person_aliases
           WHERE workspace_id = $ws AND alias_id IN (SELECT unnest(from_json($ids, '["VARCHAR"]')))`,
        { ws: workspaceId, ids },
      )
    ).getRowsJS();
    return rows.map((r) => num(r[0]));
  }

  async journeyRows(workspaceId: string, personKey: number): Promise<JourneyRows | null> {
    const params = { ws: workspaceId, k: personKey };
    const person = (
      await this.reader.runAndReadAll(
        'SELECT bot, bot_events FROM journey_persons WHERE workspace_id = $ws AND person_key = $k',
        params,
      )
    ).getRowsJS()[0];
    if (!person) return null;
    const stepRows = (
      await this.reader.runAndReadAll(
        `SELECT s.seq::DOUBLE, epoch_ms(s.event_at)::DOUBLE, s.session, s.touchpoint, s.channel
         FROM journey_steps s WHERE s.workspace_id = $ws AND s.person_key = $k ORDER BY s.event_at, s.seq`,
        params,
      )
    ).getRowsJS();
    const seqs = stepRows.map((r) => num(r[0]));
    const about = new Map<number, unknown[]>();
    if (seqs.length > 0) {
      const list = seqs.join(',');
      const rows = (
        await this.reader.runAndReadAll(
          `SELECT e.seq::DOUBLE, e.message_id, e.type, coalesce(e.event, e.name), f.self_reported, f.promo_code,
             ${CLICK_IDS.map((id) => `f.${id}`).join(', ')}
           FROM events e JOIN event_facts f ON f.workspace_id = e.workspace_id AND f.seq = e.seq
           WHERE e.workspace_id = $ws AND e.seq IN (${list}) AND f.seq IN (${list})`,
          { ws: workspaceId },
        )
      ).getRowsJS();
      for (const r of rows) about.set(num(r[0]), r);
    }
    const steps: StepRow[] = stepRows.map((r) => {
      const seq = num(r[0]);
      const a = about.get(seq);
      if (!a) throw new Error(`journey step ${seq} of person ${personKey} has no event`);
      return {
        seq,
        messageId: a[1] as string,
        at: num(r[1]),
        type: a[2] as MessageType,
        event: (a[3] as string | null) ?? null,
        session: r[2] === null ? null : num(r[2]),
        touchpoint: r[3] === null ? null : num(r[3]),
        channel: (r[4] as string | null) ?? null,
        selfReported: (a[4] as string | null) ?? null,
        promoCode: (a[5] as string | null) ?? null,
      };
    });
    const touchpoints: Touchpoint[] = (
      await this.reader.runAndReadAll(
        `SELECT touchpoint, kind, channel, epoch_ms(event_at)::DOUBLE, seq::DOUBLE, event, source, medium, campaign,
           content, term, referring_domain, landing_page, session
         FROM journey_touchpoints WHERE workspace_id = $ws AND person_key = $k ORDER BY touchpoint`,
        params,
      )
    )
      .getRowsJS()
      .map((r) => {
        const seq = num(r[4]);
        const a = about.get(seq);
        const clickIds: Touchpoint['clickIds'] = {};
        CLICK_IDS.forEach((id, i) => {
          const v = a?.[6 + i];
          if (typeof v === 'string') clickIds[id] = v;
        });
        return {
          index: num(r[0]),
          kind: r[1] as Touchpoint['kind'],
          channel: r[2] as string,
          at: num(r[3]),
          seq,
          messageId: (a?.[1] as string | undefined) ?? '',
          event: (r[5] as string | null) ?? null,
          source: r[6] as string,
          medium: r[7] as string,
          campaign: (r[8] as string | null) ?? null,
          content: (r[9] as string | null) ?? null,
          term: (r[10] as string | null) ?? null,
          referringDomain: (r[11] as string | null) ?? null,
          landingPage: (r[12] as string | null) ?? null,
          clickIds,
          session: r[13] === null ? null : num(r[13]),
        };
      });
    const sessions: SessionSummary[] = (
      await this.reader.runAndReadAll(
        `SELECT session, epoch_ms(start_at)::DOUBLE, epoch_ms(end_at)::DOUBLE, event_count, bounce, channel,
           landing_page, entry_touchpoint
         FROM journey_sessions WHERE workspace_id = $ws AND person_key = $k ORDER BY session`,
        params,
      )
    )
      .getRowsJS()
      .map((r) => ({
        index: num(r[0]),
        start: num(r[1]),
        end: num(r[2]),
        durationMs: num(r[2]) - num(r[1]),
        eventCount: num(r[3]),
        bounce: r[4] as boolean,
        channel: (r[5] as string | null) ?? null,
        landingPage: (r[6] as string | null) ?? null,
        entryTouchpoint: r[7] === null ? null : num(r[7]),
      }));
    const stages: StageSpan[] = (
      await this.reader.runAndReadAll(
        `SELECT stage, name, epoch_ms(entered_at)::DOUBLE, epoch_ms(exited_at)::DOUBLE, trigger_kind,
           trigger_message_id, trigger_event, trigger_days
         FROM stage_history WHERE workspace_id = $ws AND subject_kind = 'person' AND subject = $k::VARCHAR
         ORDER BY position`,
        params,
      )
    )
      .getRowsJS()
      .map((r) => ({
        stage: r[0] as string,
        name: r[1] as string,
        enteredAt: num(r[2]),
        exitedAt: r[3] === null ? null : num(r[3]),
        trigger:
          r[4] === 'event'
            ? { kind: 'event' as const, messageId: r[5] as string, event: (r[6] as string | null) ?? null }
            : { kind: 'inactivity' as const, days: num(r[7]) },
      }));
    return {
      bot: (person[0] as BotReason | null) ?? null,
      botEvents: num(person[1]),
      steps,
      touchpoints,
      sessions,
      stages,
    };
  }
}
