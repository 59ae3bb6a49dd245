import type { DuckDBConnection } from '@duckdb/node-api';
import type { BotReason } from '../core/journey/bots.js';
import type { SessionSummary, Touchpoint } from '../core/journey/journey.js';
import type { JourneyRows, StepRow } from '../core/journey/journey-rows.js';
import {
  ACCOUNTS,
  assignAccountKeysSql,
  type JourneySubject,
  PERSONS,
  personIdentityHashSql,
} from '../core/journey/journey-subjects.js';
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
/** Keys as a SQL list of integers ('NULL' for none: `IN (NULL)` matches nothing). */
const keyList = (keys: readonly number[]): string =>
  keys.map((k) => String(Math.trunc(k))).join(', ') || 'NULL';

/**
 * The journey tables (migrations 007 to 010) on their own connection: a rebuild is one
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
      accounts?: readonly number[];
      after?: number;
      stagesOnly?: boolean;
      state: Omit<JourneyTablesState, 'workspaceId'>;
      onPhase?: (p: JourneyBuildPhase) => void;
    },
  ): Promise<JourneyBuildCounts> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      // One subject's journeys: sessions and touchpoints in SQL (unless only the stage model
      // changed), then the stage history folded over them.
      const derive = async (subject: JourneySubject, keys?: readonly number[], foldPhase?: () => void) => {
        const only = { ...(keys ? { persons: keys } : {}), subject };
        const tables = o.stagesOnly
          ? undefined
          : await rebuildJourneyTables(this.conn, workspaceId, input.settings, only);
        if (tables) foldPhase?.();
        const stages = await rebuildStageHistory(
          this.conn,
          workspaceId,
          input.config,
          input.stageModel,
          only,
        );
        return { tables, stages };
      };
      o.onPhase?.(o.stagesOnly ? 'stage history' : 'sessions and touchpoints');
      const persons = await derive(PERSONS, o.persons, () => o.onPhase?.('stage history'));
      if (!o.stagesOnly) await this.recordIdentity(workspaceId, o.persons);
      o.onPhase?.('accounts');
      if (!o.stagesOnly) await this.conn.run(assignAccountKeysSql(workspaceId));
      const accountKeys = o.persons && [
        ...new Set([...(await this.accountsOf(workspaceId, o.persons, o.after)), ...(o.accounts ?? [])]),
      ];
      const accounts = await derive(ACCOUNTS, accountKeys);
      await this.conn.run(
        `INSERT OR REPLACE INTO journey_state VALUES ($ws, $hash, $seq::BIGINT, now()::TIMESTAMP)`,
        { ws: workspaceId, hash: o.state.settingsHash, seq: o.state.builtSeq },
      );
      await this.conn.run('COMMIT');
      return {
        ...(persons.tables ?? { persons: persons.stages.persons, events: 0, sessions: 0, touchpoints: 0 }),
        stageSpans: persons.stages.spans + accounts.stages.spans,
        accounts: accounts.tables?.persons ?? accounts.stages.persons,
        scope: o.stagesOnly ? 'stages' : 'journeys',
      };
    } catch (e) {
      await this.conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** Records what the persons' rows were derived from (migration 010), with those rows. */
  private async recordIdentity(workspaceId: string, persons?: readonly number[]): Promise<void> {
    const keys = persons && keyList(persons);
    await this.conn.run(
      `DELETE FROM journey_identity WHERE workspace_id = $ws${keys ? ` AND person_key IN (${keys})` : ''}`,
      { ws: workspaceId },
    );
    await this.conn.run(
      `INSERT INTO journey_identity SELECT $ws, person_key, identity_hash FROM (${personIdentityHashSql(workspaceId, keys)})`,
      { ws: workspaceId },
    );
  }

  async staleIdentities(workspaceId: string): Promise<number[]> {
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT coalesce(c.person_key, j.person_key) FROM (${personIdentityHashSql(workspaceId)}) c
         FULL OUTER JOIN (SELECT person_key, identity_hash FROM journey_identity WHERE workspace_id = $ws) j
           ON j.person_key = c.person_key
         WHERE c.identity_hash IS DISTINCT FROM j.identity_hash`,
        { ws: workspaceId },
      )
    ).getRowsJS();
    return rows.map((r) => num(r[0]));
  }

  /**
   * The accounts whose journeys change with these persons': those any of them is a member of, and
   * those that events after seq `after` name by group id (a deal of the account, say).
   */
  private async accountsOf(
    workspaceId: string,
    persons: readonly number[],
    after?: number,
  ): Promise<number[]> {
    const keys = keyList(persons);
    const rows = (
      await this.conn.runAndReadAll(
        `SELECT ak.account_key FROM account_members am
           JOIN person_map pm ON pm.workspace_id = am.workspace_id AND pm.identifier_id = am.identifier_id
           JOIN account_keys ak ON ak.workspace_id = am.workspace_id AND ak.group_id = am.group_id
         WHERE am.workspace_id = $ws AND pm.person_key IN (${keys})
         ${
           after === undefined
             ? ''
             : `UNION SELECT ak.account_key FROM event_identity ei
           JOIN account_keys ak ON ak.workspace_id = ei.workspace_id AND ak.group_id = ei.group_id
         WHERE ei.workspace_id = $ws AND ei.seq > $after::BIGINT`
         }`,
        { ws: workspaceId, ...(after === undefined ? {} : { after }) },
      )
    ).getRowsJS();
    return [...new Set(rows.map((r) => num(r[0])))];
  }

  async sweep(
    workspaceId: string,
    model: StageModel,
    now: number,
    o: { afterDeletion?: boolean } = {},
  ): Promise<{ persons: number[]; accounts: number[] }> {
    const ws = { ws: workspaceId };
    const orphaned = { persons: [] as number[], accounts: [] as number[] };
    await this.conn.run('BEGIN TRANSACTION');
    try {
      // Persons whose key no longer holds an identifier (merged away, deleted), and accounts no
      // identifier is a member of any more (deleted): their rows go.
      const orphans = [
        { subject: PERSONS, alive: 'SELECT person_key FROM person_map WHERE workspace_id = $ws' },
        {
          subject: ACCOUNTS,
          alive: `SELECT ak.account_key FROM account_keys ak JOIN account_members am
            ON am.workspace_id = ak.workspace_id AND am.group_id = ak.group_id WHERE ak.workspace_id = $ws`,
        },
      ];
      for (const { subject, alive } of orphans) {
        const { key, tables } = subject;
        await this.conn.run(
          `CREATE OR REPLACE TEMP TABLE journey_orphans AS SELECT workspace_id, ${key} FROM ${tables.subjects}
           WHERE workspace_id = $ws AND ${key} NOT IN (${alive})`,
          ws,
        );
        for (const table of [tables.steps, tables.sessions, tables.touchpoints, tables.subjects])
          await this.conn.run(
            `DELETE FROM ${table} WHERE workspace_id = $ws AND ${key} IN (SELECT ${key} FROM journey_orphans)`,
            ws,
          );
        const named = subject.stageSubject('o', key);
        await this.conn.run(
          `DELETE FROM stage_history WHERE workspace_id = $ws AND subject_kind = '${subject.kind}'
             AND subject IN (SELECT ${named.subject} FROM journey_orphans o ${named.join})`,
          ws,
        );
        await this.conn.run('DROP TABLE journey_orphans');
        // After a deletion: the subjects whose rows hold an event that is gone (shared with the
        // deleted person) — an anti-join over all steps, so only then.
        if (o.afterDeletion) {
          const rows = (
            await this.conn.runAndReadAll(
              `SELECT DISTINCT ${key} FROM ${tables.steps} s WHERE workspace_id = $ws
               AND NOT EXISTS (SELECT 1 FROM events e WHERE e.workspace_id = $ws AND e.seq = s.seq)`,
              ws,
            )
          ).getRowsJS();
          orphaned[subject === PERSONS ? 'persons' : 'accounts'] = rows.map((r) => num(r[0]));
        }
      }
      // What the persons that are gone were derived from goes with their rows.
      await this.conn.run(
        `DELETE FROM journey_identity WHERE workspace_id = $ws
         AND person_key NOT IN (SELECT person_key FROM person_map WHERE workspace_id = $ws)`,
        ws,
      );
      for (const subject of [PERSONS, ACCOUNTS])
        for (const st of dueInactivitySql(model, subject))
          await this.conn.run(st.sql, st.params(workspaceId, now));
      await this.conn.run('COMMIT');
      return orphaned;
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

  journeyRows(workspaceId: string, personKey: number): Promise<JourneyRows | null> {
    return this.rowsOf(PERSONS, workspaceId, personKey, String(personKey));
  }

  async accountJourneyRows(workspaceId: string, groupId: string): Promise<JourneyRows | null> {
    const key = (
      await this.reader.runAndReadAll(
        'SELECT account_key FROM account_keys WHERE workspace_id = $ws AND group_id = $g',
        { ws: workspaceId, g: groupId },
      )
    ).getRowsJS()[0]?.[0];
    return key === undefined ? null : this.rowsOf(ACCOUNTS, workspaceId, num(key), groupId);
  }

  /** The journey of the subject with this key (`stageSubject`: its name in `stage_history`). */
  private async rowsOf(
    subject: JourneySubject,
    workspaceId: string,
    key: number,
    stageSubject: string,
  ): Promise<JourneyRows | null> {
    // One round trip for the subject's rows of every journey table (each row as JSON, tagged
    // with its table), then one for what the steps' events say (ids, names, reported sources).
    const { tables } = subject;
    const of = (table: string) => `FROM ${table} WHERE workspace_id = $ws AND ${subject.key} = $k`;
    const parts = (
      await this.reader.runAndReadAll(
        `SELECT 0 AS part, 0 AS i, to_json({'bot': bot, 'botEvents': bot_events})::VARCHAR ${of(tables.subjects)}
         UNION ALL SELECT 1, row_number() OVER (ORDER BY event_at, seq), to_json({'seq': seq, 'at': epoch_ms(event_at),
           'session': session, 'touchpoint': touchpoint, 'channel': channel})::VARCHAR ${of(tables.steps)}
         UNION ALL SELECT 2, touchpoint, to_json({'index': touchpoint, 'kind': kind, 'channel': channel,
           'at': epoch_ms(event_at), 'seq': seq, 'event': event, 'source': source, 'medium': medium, 'campaign': campaign,
           'content': content, 'term': term, 'referringDomain': referring_domain, 'landingPage': landing_page,
           'session': session})::VARCHAR ${of(tables.touchpoints)}
         UNION ALL SELECT 3, session, to_json({'index': session, 'start': epoch_ms(start_at), 'end': epoch_ms(end_at),
           'eventCount': event_count, 'bounce': bounce, 'channel': channel, 'landingPage': landing_page,
           'entryTouchpoint': entry_touchpoint})::VARCHAR ${of(tables.sessions)}
         UNION ALL SELECT 4, position, to_json({'stage': stage, 'name': name, 'enteredAt': epoch_ms(entered_at),
           'exitedAt': epoch_ms(exited_at), 'kind': trigger_kind, 'messageId': trigger_message_id, 'event': trigger_event,
           'days': trigger_days})::VARCHAR
           FROM stage_history WHERE workspace_id = $ws AND subject_kind = $kind AND subject = $subject
         ORDER BY part, i`,
        { ws: workspaceId, k: key, kind: subject.kind, subject: stageSubject },
      )
    ).getRowsJS();
    const rows: Record<number, Record<string, unknown>[]> = { 0: [], 1: [], 2: [], 3: [], 4: [] };
    for (const r of parts) rows[num(r[0])]?.push(JSON.parse(r[2] as string) as Record<string, unknown>);
    const person = rows[0]?.[0];
    if (!person) return null;
    const stepRows = rows[1] ?? [];
    const about = new Map<number, unknown[]>();
    if (stepRows.length > 0) {
      const list = stepRows.map((r) => num(r.seq)).join(',');
      const events = (
        await this.reader.runAndReadAll(
          `SELECT e.seq::DOUBLE, e.message_id, e.type, coalesce(e.event, e.name), f.self_reported, f.promo_code,
             ${CLICK_IDS.map((id) => `f.${id}`).join(', ')}
           FROM events e JOIN event_facts f ON f.workspace_id = e.workspace_id AND f.seq = e.seq
           WHERE e.workspace_id = $ws AND e.seq IN (${list}) AND f.seq IN (${list})`,
          { ws: workspaceId },
        )
      ).getRowsJS();
      for (const r of events) about.set(num(r[0]), r);
    }
    // A step whose event is gone (deleted with another person it also belonged to) until this
    // person is derived again: the tables cannot answer, the caller derives the journey itself.
    if (stepRows.some((r) => !about.has(num(r.seq)))) return null;
    const aboutOf = (seq: number) => about.get(seq) as unknown[];
    const text = (v: unknown) => (v as string | null | undefined) ?? null;
    const steps: StepRow[] = stepRows.map((r) => {
      const seq = num(r.seq);
      const a = aboutOf(seq);
      return {
        seq,
        messageId: a[1] as string,
        at: num(r.at),
        type: a[2] as MessageType,
        event: text(a[3]),
        session: r.session === null ? null : num(r.session),
        touchpoint: r.touchpoint === null ? null : num(r.touchpoint),
        channel: text(r.channel),
        selfReported: text(a[4]),
        promoCode: text(a[5]),
      };
    });
    const touchpoints: Touchpoint[] = (rows[2] ?? []).map((r) => {
      const seq = num(r.seq);
      const a = aboutOf(seq);
      const clickIds: Touchpoint['clickIds'] = {};
      CLICK_IDS.forEach((id, i) => {
        const v = a[6 + i];
        if (typeof v === 'string') clickIds[id] = v;
      });
      return {
        index: num(r.index),
        kind: r.kind as Touchpoint['kind'],
        channel: r.channel as string,
        at: num(r.at),
        seq,
        messageId: a[1] as string,
        event: text(r.event),
        source: r.source as string,
        medium: r.medium as string,
        campaign: text(r.campaign),
        content: text(r.content),
        term: text(r.term),
        referringDomain: text(r.referringDomain),
        landingPage: text(r.landingPage),
        clickIds,
        session: r.session === null ? null : num(r.session),
      };
    });
    const sessions: SessionSummary[] = (rows[3] ?? []).map((r) => ({
      index: num(r.index),
      start: num(r.start),
      end: num(r.end),
      durationMs: num(r.end) - num(r.start),
      eventCount: num(r.eventCount),
      bounce: r.bounce as boolean,
      channel: text(r.channel),
      landingPage: text(r.landingPage),
      entryTouchpoint: r.entryTouchpoint === null ? null : num(r.entryTouchpoint),
    }));
    const stages: StageSpan[] = (rows[4] ?? []).map((r) => ({
      stage: r.stage as string,
      name: r.name as string,
      enteredAt: num(r.enteredAt),
      exitedAt: r.exitedAt === null ? null : num(r.exitedAt),
      trigger:
        r.kind === 'event'
          ? { kind: 'event' as const, messageId: r.messageId as string, event: text(r.event) }
          : { kind: 'inactivity' as const, days: num(r.days) },
    }));
    return {
      bot: (person.bot as BotReason | null) ?? null,
      botEvents: num(person.botEvents),
      steps,
      touchpoints,
      sessions,
      stages,
    };
  }
}
