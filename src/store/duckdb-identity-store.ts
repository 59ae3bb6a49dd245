import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { LinkRule } from '../core/identity/link.js';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type {
  AccountListRow,
  ActivityStats,
  DeletionCounts,
  DeletionRequest,
  IdentityBatch,
  IdentityLogStore,
  IdentityOpRow,
  LinkRow,
  ListPage,
  ListQuery,
  PersonListQuery,
  PersonListRow,
  PersonMapRow,
  PersonModelChanges,
  PersonModelRebuild,
  PersonModelState,
  PersonReadModel,
  PersonRow,
  StageRef,
  Suppression,
  TimelineQuery,
  TraitEventRow,
  TraitFactRow,
  TraitValue,
} from '../services/identity-ports.js';
import { EVENT_COLUMNS, QUARANTINE_COLUMNS, rowToEvent, rowToQuarantine } from './event-rows.js';

const str = (v: string | null): string => (v === null ? 'null' : JSON.stringify(v));

const IDENTIFIERS_INSERT = `INSERT INTO identifiers SELECT r.i, r.w, r.t, r.v
  FROM (SELECT unnest(json_transform($1::JSON, '[{"i":"INTEGER","w":"VARCHAR","t":"VARCHAR","v":"VARCHAR"}]')) AS r)`;
const LINKS_INSERT = `INSERT INTO identity_links SELECT r.i, r.w, r.m, r.r, make_timestamp(r.a * 1000), r.mi, r.s, now()
  FROM (SELECT unnest(json_transform($1::JSON,
    '[{"i":"INTEGER","w":"VARCHAR","m":"INTEGER[]","r":"VARCHAR","a":"BIGINT","mi":"VARCHAR","s":"BIGINT"}]')) AS r)`;
const EVENT_IDENTITY_INSERT = `INSERT INTO event_identity SELECT r.s, r.w, r.i, make_timestamp(r.a * 1000), r.t, r.g, r.v
  FROM (SELECT unnest(json_transform($1::JSON,
    '[{"s":"BIGINT","w":"VARCHAR","i":"INTEGER","a":"BIGINT","t":"VARCHAR","g":"VARCHAR","v":"DOUBLE"}]')) AS r)`;

const linksJson = (links: LinkRow[]) =>
  `[${links
    .map(
      (l) =>
        `{"i":${l.id},"w":${str(l.workspaceId)},"m":[${l.members.join(',')}],"r":"${l.rule}","a":${l.at},"mi":${str(l.messageId)},"s":${l.seq}}`,
    )
    .join(',')}]`;

const idList = (ids: number[]) => ids.map((i) => Math.trunc(i)).join(',') || 'NULL';
/** An INTEGER[] parameter. */
const intArray = (ids: number[]) => `[${ids.map((i) => Math.trunc(i)).join(',')}]`;

/** JSON rows → a relation, for statements that take many rows in one parameter. */
const rows = (param: string, shape: string) =>
  `(SELECT unnest(json_transform(${param}::JSON, '[${shape}]'), recursive := true))`;

const OPS_INSERT = `INSERT INTO identity_ops SELECT i, w, k, ids, o, l, u, r, make_timestamp(a * 1000)
  FROM ${rows('$1', '{"i":"INTEGER","w":"VARCHAR","k":"VARCHAR","ids":"INTEGER[]","o":"INTEGER[]","l":"INTEGER","u":"INTEGER","r":"VARCHAR","a":"BIGINT"}')}`;

// ── the person model (migration 006) ─────────────────────────────────────────
//
// A batch's person model rows are parsed once into temporary stage tables on the writer
// connection (in the batch's transaction), then applied set-based. The tables have no keys
// (see migration 006): an upsert updates or deletes the stored rows the batch supersedes, then
// inserts the rest.

const STAGES = {
  activity: { i: 'INTEGER', w: 'VARCHAR', f: 'BIGINT', l: 'BIGINT', n: 'BIGINT', v: 'DOUBLE' },
  traits: { i: 'INTEGER', w: 'VARCHAR', g: 'VARCHAR', k: 'VARCHAR', v: 'VARCHAR', a: 'BIGINT', m: 'VARCHAR' },
  members: { w: 'VARCHAR', g: 'VARCHAR', i: 'INTEGER' },
  map: { i: 'INTEGER', w: 'VARCHAR', k: 'INTEGER', a: 'VARCHAR' },
  persons: { k: 'INTEGER', w: 'VARCHAR', p: 'VARCHAR', n: 'INTEGER', s: 'VARCHAR' },
  deltas: { k: 'INTEGER', f: 'BIGINT', l: 'BIGINT', n: 'BIGINT', v: 'DOUBLE' },
  accounts: { w: 'VARCHAR', g: 'VARCHAR' },
} as const;
type Stage = keyof typeof STAGES;

const ACTIVITY_UPDATE = `UPDATE identifier_activity SET
    first_seen = least(identifier_activity.first_seen, make_timestamp(r.f * 1000)),
    last_seen = greatest(identifier_activity.last_seen, make_timestamp(r.l * 1000)),
    event_count = identifier_activity.event_count + r.n,
    revenue = identifier_activity.revenue + r.v
  FROM stage_activity r WHERE identifier_activity.identifier_id = r.i`;
const ACTIVITY_INSERT = `INSERT INTO identifier_activity
  SELECT r.i, r.w, make_timestamp(r.f * 1000), make_timestamp(r.l * 1000), r.n, r.v
  FROM stage_activity r ANTI JOIN identifier_activity a ON a.identifier_id = r.i`;

/** Stored facts older than the batch's (by event time, then messageId, as `foldTraits` orders them). */
const TRAITS_SUPERSEDED = `DELETE FROM identifier_traits USING stage_traits r
  WHERE identifier_traits.identifier_id = r.i AND identifier_traits.group_id = r.g AND identifier_traits.key = r.k
    AND (make_timestamp(r.a * 1000) > identifier_traits.updated_at
      OR (make_timestamp(r.a * 1000) = identifier_traits.updated_at AND r.m > identifier_traits.message_id))`;
/** The batch's facts where no newer one is stored. */
const TRAITS_INSERT = `INSERT INTO identifier_traits
  SELECT r.i, r.w, r.g, r.k, r.v, make_timestamp(r.a * 1000), r.m
  FROM stage_traits r ANTI JOIN identifier_traits t ON t.identifier_id = r.i AND t.group_id = r.g AND t.key = r.k`;

const MEMBERS_INSERT = `INSERT INTO account_members SELECT r.w, r.g, r.i
  FROM stage_members r ANTI JOIN account_members m
    ON m.workspace_id = r.w AND m.group_id = r.g AND m.identifier_id = r.i`;

/** The newest value of each trait among the rows grouped, as (value, updated_at, message_id). */
const NEWEST = `arg_max({'value': t.value, 'updated_at': t.updated_at, 'message_id': t.message_id},
  (t.updated_at, t.message_id))`;
const fromNewest = (w: string) =>
  `struct_extract(${w}, 'value'), struct_extract(${w}, 'updated_at'), struct_extract(${w}, 'message_id')`;

/** Traits of the staged persons, from their identifiers' identify traits. */
const PERSON_TRAITS_DERIVE = `INSERT INTO person_traits SELECT person_key, workspace_id, key, ${fromNewest('w')} FROM (
  SELECT pm.person_key, any_value(pm.workspace_id) AS workspace_id, t.key, ${NEWEST} AS w
  FROM identifier_traits t JOIN person_map pm ON pm.identifier_id = t.identifier_id
  WHERE t.group_id = '' AND pm.person_key IN (SELECT k FROM stage_persons)
  GROUP BY pm.person_key, t.key)`;

/**
 * Rows of the staged persons (key, workspace, id, identifier count, identifiers' search text),
 * from their identifiers' activity and their current traits.
 */
const PERSON_ACTIVITY_DERIVE = `INSERT INTO person_activity
  SELECT d.k, d.w, d.p, a.first_seen, a.last_seen, coalesce(a.events, 0), coalesce(a.revenue, 0), d.n,
    d.s || coalesce(t.txt, '')
  FROM stage_persons d
  LEFT JOIN (
    SELECT pm.person_key, min(ia.first_seen) AS first_seen, max(ia.last_seen) AS last_seen,
      sum(ia.event_count) AS events, sum(ia.revenue) AS revenue
    FROM person_map pm JOIN identifier_activity ia ON ia.identifier_id = pm.identifier_id
    WHERE pm.person_key IN (SELECT k FROM stage_persons)
    GROUP BY pm.person_key) a ON a.person_key = d.k
  LEFT JOIN (
    SELECT person_key, lower(string_agg(to_json(key)::VARCHAR || ':' || value, ',' ORDER BY key)) AS txt
    FROM person_traits WHERE person_key IN (SELECT k FROM stage_persons)
    GROUP BY person_key) t ON t.person_key = d.k`;

/** What a batch's events add to persons whose identifiers did not change. */
const PERSON_ACTIVITY_ADD = `UPDATE person_activity SET
    first_seen = least(person_activity.first_seen, make_timestamp(d.f * 1000)),
    last_seen = greatest(person_activity.last_seen, make_timestamp(d.l * 1000)),
    event_count = person_activity.event_count + d.n,
    revenue = person_activity.revenue + d.v
  FROM stage_deltas d WHERE person_activity.person_key = d.k`;

const ACCOUNT_TRAITS_DELETE = `DELETE FROM account_traits USING stage_accounts d
  WHERE account_traits.workspace_id = d.w AND account_traits.group_id = d.g`;
const ACCOUNT_TRAITS_DERIVE = `INSERT INTO account_traits SELECT workspace_id, group_id, key, ${fromNewest('w')} FROM (
  SELECT t.workspace_id, t.group_id, t.key, ${NEWEST} AS w
  FROM identifier_traits t JOIN stage_accounts d ON d.w = t.workspace_id AND d.g = t.group_id
  GROUP BY t.workspace_id, t.group_id, t.key)`;

const jsonRows = <T>(list: T[], row: (x: T) => string) => `[${list.map(row).join(',')}]`;

const traitsJson = (traits: TraitFactRow[]) =>
  jsonRows(
    traits,
    (t) =>
      `{"i":${t.identifierId},"w":${str(t.workspaceId)},"g":${str(t.groupId ?? '')},"k":${str(t.key)},"v":${str(t.value)},"a":${t.at},"m":${str(t.messageId)}}`,
  );

const personsJson = (persons: PersonRow[]) =>
  jsonRows(
    persons,
    (p) =>
      `{"k":${p.personKey},"w":${str(p.workspaceId)},"p":${str(p.personId)},"n":${p.identifiers},"s":${str(p.search)}}`,
  );

const mapJson = (map: PersonMapRow[]) =>
  jsonRows(
    map,
    (r) => `{"i":${r.identifierId},"w":${str(r.workspaceId)},"k":${r.personKey},"a":${str(r.aliasId)}}`,
  );

/** The accounts whose traits these facts touch. */
const accountsOf = (traits: TraitFactRow[]) => {
  const seen = new Map<string, { w: string; g: string }>();
  for (const t of traits)
    if (t.groupId !== null)
      seen.set(`${t.workspaceId}\u0001${t.groupId}`, { w: t.workspaceId, g: t.groupId });
  return [...seen.values()];
};

/**
 * The identity graph's tables and the person model on DuckDB. Writes on their own connection,
 * reads on the shared reader.
 */
export class DuckDBIdentityStore implements IdentityLogStore, PersonReadModel {
  constructor(
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  async load(h: Parameters<IdentityLogStore['load']>[0]): Promise<{ processedSeq: number }> {
    const each = async (sql: string, onRow: (r: unknown[]) => void) => {
      const result = await this.reader.stream(sql);
      for await (const chunk of result.yieldRowsJs()) for (const r of chunk) onRow(r);
    };
    await each('SELECT id, workspace_id, type, value FROM identifiers ORDER BY id', (r) =>
      h.identifier({
        id: r[0] as number,
        workspaceId: r[1] as string,
        type: r[2] as string,
        value: r[3] as string,
      }),
    );
    await each(
      `SELECT id, workspace_id, identifiers, rule, epoch_ms(timestamp)::DOUBLE, message_id, seq::DOUBLE
       FROM identity_links ORDER BY id`,
      (r) =>
        h.link({
          id: r[0] as number,
          workspaceId: r[1] as string,
          members: (r[2] as number[]).map(Number),
          rule: r[3] as LinkRule,
          at: r[4] as number,
          messageId: r[5] as string,
          seq: r[6] as number,
        }),
    );
    await each(
      `SELECT id, workspace_id, kind, identifiers, others, link_id, undoes, reason, epoch_ms(performed_at)::DOUBLE
       FROM identity_ops ORDER BY id`,
      (r) =>
        h.op({
          id: r[0] as number,
          workspaceId: r[1] as string,
          kind: r[2] as IdentityOpRow['kind'],
          identifiers: (r[3] as number[]).map(Number),
          others: ((r[4] as number[] | null) ?? []).map(Number),
          linkId: (r[5] as number | null) ?? null,
          undoes: (r[6] as number | null) ?? null,
          reason: (r[7] as string | null) ?? null,
          at: r[8] as number,
        }),
    );
    await each(
      `SELECT DISTINCT workspace_id, group_id, identifier_id FROM event_identity
       WHERE type = 'group' AND group_id IS NOT NULL`,
      (r) =>
        h.membership({ workspaceId: r[0] as string, groupId: r[1] as string, identifierId: r[2] as number }),
    );
    return { processedSeq: await this.processedSeq() };
  }

  async processedSeq(): Promise<number> {
    const p = await this.reader.runAndReadAll(
      'SELECT processed_seq::DOUBLE FROM identity_progress WHERE id = 1',
    );
    return Number(p.getRowsJS()[0]?.[0] ?? 0);
  }

  async loadSettings(): Promise<{ workspaceId: string; rules: unknown }[]> {
    const rows = (
      await this.reader.runAndReadAll('SELECT workspace_id, rules::VARCHAR FROM identity_settings')
    ).getRowsJS();
    return rows.map((r) => ({ workspaceId: r[0] as string, rules: JSON.parse(r[1] as string) as unknown }));
  }

  async saveSettings(workspaceId: string, rules: unknown, at: number): Promise<void> {
    await this.writer.run(
      `INSERT OR REPLACE INTO identity_settings VALUES ($1, $2::JSON, make_timestamp($3::BIGINT * 1000))`,
      [workspaceId, JSON.stringify(rules), at],
    );
  }

  async loadSuppressions(): Promise<Suppression[]> {
    const rows = (
      await this.reader.runAndReadAll('SELECT DISTINCT workspace_id, type, value_hash FROM suppressions')
    ).getRowsJS();
    return rows.map((r) => ({
      workspaceId: r[0] as string,
      type: r[1] as string,
      valueHash: r[2] as string,
    }));
  }

  async append(b: IdentityBatch): Promise<void> {
    await this.transaction(async () => {
      if (b.identifiers.length > 0) {
        const json = `[${b.identifiers
          .map((i) => `{"i":${i.id},"w":${str(i.workspaceId)},"t":${str(i.type)},"v":${str(i.value)}}`)
          .join(',')}]`;
        await this.writer.run(IDENTIFIERS_INSERT, [json]);
      }
      if (b.links.length > 0) await this.writer.run(LINKS_INSERT, [linksJson(b.links)]);
      if (b.events.length > 0) {
        const json = `[${b.events
          .map(
            (e) =>
              `{"s":${e.seq},"w":${str(e.workspaceId)},"i":${e.identifierId},"a":${e.timestamp},"t":"${e.type}","g":${str(e.groupId)},"v":${e.revenue ?? 'null'}}`,
          )
          .join(',')}]`;
        await this.writer.run(EVENT_IDENTITY_INSERT, [json]);
      }
      if (b.ops.length > 0) {
        const json = JSON.stringify(
          b.ops.map((o) => ({
            i: o.id,
            w: o.workspaceId,
            k: o.kind,
            ids: o.identifiers,
            o: o.others,
            l: o.linkId,
            u: o.undoes,
            r: o.reason,
            a: o.at,
          })),
        );
        await this.writer.run(OPS_INSERT, [json]);
      }
      if (b.activity.length > 0) {
        await this.stage(
          'activity',
          jsonRows(
            b.activity,
            (a) =>
              `{"i":${a.identifierId},"w":${str(a.workspaceId)},"f":${a.firstSeen},"l":${a.lastSeen},"n":${a.events},"v":${a.revenue}}`,
          ),
        );
        await this.writer.run(ACTIVITY_UPDATE);
        await this.writer.run(ACTIVITY_INSERT);
      }
      if (b.traits.length > 0) {
        await this.stage('traits', traitsJson(b.traits));
        await this.writer.run(TRAITS_SUPERSEDED);
        await this.writer.run(TRAITS_INSERT);
      }
      if (b.memberships.length > 0) {
        await this.stage(
          'members',
          jsonRows(
            b.memberships,
            (m) => `{"w":${str(m.workspaceId)},"g":${str(m.groupId)},"i":${m.identifierId}}`,
          ),
        );
        await this.writer.run(MEMBERS_INSERT);
      }
      await this.writePersons(b.persons);
      const accounts = accountsOf(b.traits);
      if (accounts.length > 0) await this.deriveAccountTraits(JSON.stringify(accounts));
      if (b.processedSeq !== null) {
        await this.writer.run('UPDATE identity_progress SET processed_seq = $1::BIGINT WHERE id = 1', [
          b.processedSeq,
        ]);
      }
    });
  }

  /** Rows into a stage table (emptied first), from JSON: parsed once, read by the statements after. */
  private async stage(name: Stage, json: string): Promise<void> {
    const columns = Object.entries(STAGES[name]);
    await this.writer.run(
      `CREATE TEMP TABLE IF NOT EXISTS stage_${name} (${columns.map(([c, t]) => `${c} ${t}`).join(', ')})`,
    );
    await this.writer.run(`DELETE FROM stage_${name}`);
    const shape = `[{${columns.map(([c, t]) => `"${c}":"${t}"`).join(',')}}]`;
    await this.writer.run(
      `INSERT INTO stage_${name} SELECT * FROM (SELECT unnest(json_transform($1::JSON, '${shape}'), recursive := true))`,
      [json],
    );
  }

  /** Person model changes: the map and its aliases, then the persons' rows re-derived. */
  private async writePersons(c: PersonModelChanges): Promise<void> {
    if (c.map.length > 0) {
      await this.stage('map', mapJson(c.map));
      await this.writer.run('DELETE FROM person_map WHERE identifier_id IN (SELECT i FROM stage_map)');
      await this.writer.run('DELETE FROM person_aliases WHERE alias_key IN (SELECT i FROM stage_map)');
      await this.insertMap();
    }
    if (c.retired.length > 0 || c.persons.length > 0) {
      await this.stage('persons', personsJson(c.persons));
      const retired = intArray(c.retired);
      for (const table of ['person_traits', 'person_activity'])
        await this.writer.run(
          `DELETE FROM ${table} WHERE person_key IN (SELECT k FROM stage_persons UNION ALL SELECT unnest($1::INTEGER[]))`,
          [retired],
        );
      await this.derivePersons();
    }
    if (c.activity.length > 0) {
      await this.stage(
        'deltas',
        jsonRows(
          c.activity,
          (d) => `{"k":${d.personKey},"f":${d.firstSeen},"l":${d.lastSeen},"n":${d.events},"v":${d.revenue}}`,
        ),
      );
      await this.writer.run(PERSON_ACTIVITY_ADD);
    }
  }

  private async insertMap(): Promise<void> {
    await this.writer.run('INSERT INTO person_map SELECT i, w, k FROM stage_map');
    await this.writer.run('INSERT INTO person_aliases SELECT i, w, a, k FROM stage_map WHERE a IS NOT NULL');
  }

  /** Re-derives the traits and the row of the staged persons (their old rows are gone). */
  private async derivePersons(): Promise<void> {
    await this.writer.run(PERSON_TRAITS_DERIVE);
    await this.writer.run(PERSON_ACTIVITY_DERIVE);
  }

  /** Re-derives the traits of these accounts (JSON [{w, g}]) from the facts. */
  private async deriveAccountTraits(accountsJson: string): Promise<void> {
    await this.stage('accounts', accountsJson);
    await this.writer.run(ACCOUNT_TRAITS_DELETE);
    await this.writer.run(ACCOUNT_TRAITS_DERIVE);
  }

  async personModelState(): Promise<PersonModelState> {
    const r = (
      await this.reader.runAndReadAll(
        `SELECT (SELECT version FROM person_model_state WHERE id = 1), count(*)::DOUBLE,
           coalesce(sum(xor((identifier_id::UBIGINT * 2654435761) % 4294967296,
             (person_key::UBIGINT * 2246822519) % 4294967296)) % 281474976710656, 0)::DOUBLE
         FROM person_map`,
      )
    ).getRowsJS()[0] as unknown[];
    return { version: Number(r[0] ?? 0), mapRows: r[1] as number, checksum: r[2] as number };
  }

  async traitEvents(onChunk: (rows: TraitEventRow[]) => void): Promise<void> {
    const result = await this.reader.stream(
      `SELECT ei.identifier_id, ei.workspace_id, CASE WHEN ei.type = 'group' THEN ei.group_id END,
         e.traits::VARCHAR, epoch_ms(e.timestamp)::DOUBLE, e.message_id
       FROM event_identity ei JOIN events e ON e.seq = ei.seq
       WHERE ei.type = 'identify' OR (ei.type = 'group' AND ei.group_id IS NOT NULL)`,
    );
    for await (const chunk of result.yieldRowsJs()) {
      onChunk(
        chunk.map((r) => ({
          identifierId: r[0] as number,
          workspaceId: r[1] as string,
          groupId: (r[2] as string | null) ?? null,
          traits: (r[3] as string | null) ?? null,
          at: r[4] as number,
          messageId: r[5] as string,
        })),
      );
    }
  }

  async rebuildPersonModel(m: PersonModelRebuild): Promise<void> {
    await this.transaction(async () => {
      if (m.traits !== null) {
        await this.writer.run('DELETE FROM identifier_activity');
        await this.writer.run(
          `INSERT INTO identifier_activity SELECT identifier_id, any_value(workspace_id), min(timestamp),
             max(timestamp), count(*), coalesce(sum(revenue), 0)
           FROM event_identity GROUP BY identifier_id`,
        );
        await this.writer.run('DELETE FROM account_members');
        await this.writer.run(
          `INSERT INTO account_members SELECT DISTINCT workspace_id, group_id, identifier_id
           FROM event_identity WHERE type = 'group' AND group_id IS NOT NULL`,
        );
        await this.writer.run('DELETE FROM identifier_traits');
        await this.stage('traits', traitsJson(m.traits));
        await this.writer.run(TRAITS_INSERT);
        await this.writer.run('DELETE FROM account_traits');
        await this.deriveAccountTraits(JSON.stringify(accountsOf(m.traits)));
      }
      for (const table of ['person_map', 'person_aliases', 'person_traits', 'person_activity'])
        await this.writer.run(`DELETE FROM ${table}`);
      await this.stage('map', mapJson(m.map));
      await this.insertMap();
      await this.stage('persons', personsJson(m.persons));
      await this.derivePersons();
      await this.writer.run('UPDATE person_model_state SET version = $1 WHERE id = 1', [m.version]);
    });
  }

  async eventsAfter(
    seq: number,
    wholeContext: boolean,
    onChunk: (events: StoredEvent[]) => Promise<void> | void,
  ): Promise<void> {
    // The same columns as EVENT_COLUMNS, with what identity cannot use left out: moving large
    // JSON texts into JavaScript is most of the cost of catching up. Custom identifiers may read
    // any path of traits, context and properties: then they come whole.
    const result = await this.reader.stream(
      `SELECT e.workspace_id, e.seq::DOUBLE, e.message_id, e.type, e.event, e.name, e.user_id, e.anonymous_id,
         e.group_id, e.previous_id, epoch_ms(e.timestamp)::DOUBLE, NULL, NULL, epoch_ms(e.received_at)::DOUBLE,
         NULL, ${wholeContext ? 'e.properties::VARCHAR' : CATCH_UP_PROPERTIES},
         ${wholeContext ? 'e.traits::VARCHAR' : CATCH_UP_TRAITS},
         ${wholeContext ? 'e.context::VARCHAR' : CATCH_UP_CONTEXT}, NULL, NULL, e.fingerprint
       FROM events e
       LEFT JOIN (SELECT workspace_id, seq, bool_or(revenue IS NOT NULL) AS books FROM event_facts
                  WHERE seq > $1::BIGINT GROUP BY workspace_id, seq) f
         ON f.workspace_id = e.workspace_id AND f.seq = e.seq
       WHERE e.seq > $1::BIGINT ORDER BY e.seq`,
      [seq],
    );
    for await (const chunk of result.yieldRowsJs()) await onChunk(chunk.map(rowToEvent));
  }

  async timeline(q: TimelineQuery): Promise<StoredEvent[]> {
    const rows = await this.rowsOf(q.identifierIds, 'seq::DOUBLE, epoch_ms(timestamp)::DOUBLE');
    if (q.account) {
      const tagged = await this.reader.runAndReadAll(
        `SELECT seq::DOUBLE, epoch_ms(timestamp)::DOUBLE FROM event_identity WHERE workspace_id = $ws AND group_id = $gid`,
        { ws: q.account.workspaceId, gid: q.account.groupId },
      );
      rows.push(...tagged.getRowsJS());
    }
    // Sorting and paging a person's (seq, time) pairs here is cheaper than an ORDER BY … LIMIT,
    // which would turn DuckDB's index lookups into a table scan.
    const asc = q.order === 'asc';
    const key = (r: unknown[]) => ({ seq: r[0] as number, timestamp: r[1] as number });
    const after = q.after;
    const page = [...new Map(rows.map((r) => [r[0] as number, key(r)])).values()]
      .filter((r) => {
        if (!after) return true;
        const cmp = r.timestamp - after.timestamp || r.seq - after.seq;
        return asc ? cmp > 0 : cmp < 0;
      })
      .sort((a, b) => (asc ? 1 : -1) * (a.timestamp - b.timestamp || a.seq - b.seq))
      .slice(0, q.limit);
    if (page.length === 0) return [];
    const dir = asc ? 'ASC' : 'DESC';
    const events = (
      await this.reader.runAndReadAll(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (${page.map((r) => r.seq).join(',')})
         ORDER BY timestamp ${dir}, seq ${dir}`,
      )
    ).getRowsJS();
    return events.map(rowToEvent);
  }

  async activity(identifierIds: number[]): Promise<ActivityStats> {
    const stats: ActivityStats = { events: 0, firstSeen: null, lastSeen: null, revenue: 0, byType: {} };
    if (identifierIds.length === 0) return stats;
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT type, count(*)::DOUBLE, epoch_ms(min(timestamp))::DOUBLE, epoch_ms(max(timestamp))::DOUBLE,
           coalesce(sum(revenue), 0)::DOUBLE
         FROM (${this.perIdentifier(identifierIds, 'type, timestamp, revenue')}) GROUP BY type`,
      )
    ).getRowsJS();
    for (const r of rows) {
      const n = r[1] as number;
      stats.byType[r[0] as string] = n;
      stats.events += n;
      stats.firstSeen = Math.min(stats.firstSeen ?? Number.POSITIVE_INFINITY, r[2] as number);
      stats.lastSeen = Math.max(stats.lastSeen ?? Number.NEGATIVE_INFINITY, r[3] as number);
      stats.revenue += r[4] as number;
    }
    return stats;
  }

  /**
   * One index lookup per identifier. DuckDB uses the ART index for `identifier_id = n`; an IN
   * list of several ids, or an ORDER BY … LIMIT on top, makes it scan the whole table instead.
   */
  private perIdentifier(ids: number[], columns: string): string {
    return ids
      .map((id) => `SELECT ${columns} FROM event_identity WHERE identifier_id = ${Math.trunc(id)}`)
      .join(' UNION ALL ');
  }

  private async rowsOf(ids: number[], columns: string): Promise<unknown[][]> {
    if (ids.length === 0) return [];
    return (await this.reader.runAndReadAll(this.perIdentifier(ids, columns))).getRowsJS();
  }

  async personTraits(personKey: number): Promise<TraitValue[]> {
    return this.traitValues(
      'SELECT key, value, epoch_ms(updated_at)::DOUBLE FROM person_traits WHERE person_key = $key::INTEGER ORDER BY key',
      { key: personKey },
    );
  }

  async accountTraits(workspaceId: string, groupId: string): Promise<TraitValue[]> {
    return this.traitValues(
      `SELECT key, value, epoch_ms(updated_at)::DOUBLE FROM account_traits
       WHERE workspace_id = $ws AND group_id = $gid ORDER BY key`,
      { ws: workspaceId, gid: groupId },
    );
  }

  private async traitValues(sql: string, params: Record<string, DuckDBValue>): Promise<TraitValue[]> {
    const rows = (await this.reader.runAndReadAll(sql, params)).getRowsJS();
    return rows.map((r) => ({ key: r[0] as string, value: r[1] as string, at: r[2] as number }));
  }

  /**
   * One page of a workspace's persons from `person_activity`, with the total that match. The
   * text search reads the maintained `search` column (identifiers and current traits); trait
   * filters are semi-joins on `person_traits`.
   */
  async listPersons(q: PersonListQuery): Promise<ListPage<PersonListRow>> {
    const f = listFilter(q, 'pa', 'pa.person_key');
    if (q.text !== undefined) {
      f.params.text = q.text;
      if (q.orKey === undefined) f.where.push('contains(pa.search, $text)');
      else {
        f.params.orKey = q.orKey;
        f.where.push('(contains(pa.search, $text) OR pa.person_key = $orKey::INTEGER)');
      }
    }
    q.traits.forEach((t, i) => {
      // Uncorrelated: a hash semi-join (a correlated EXISTS planned ten times slower).
      f.where.push(`pa.person_key IN (SELECT person_key FROM person_traits WHERE workspace_id = $ws
        AND key = $tk${i} AND value IN ($tj${i}, $tv${i}))`);
      Object.assign(f.params, traitParams(t, i));
    });
    journeyFilters(q, f, {
      kind: 'person',
      key: 'pa.person_key',
      subject: 'TRY_CAST(subject AS INTEGER)',
      owners: (touched) => touched,
    });
    const from = 'FROM person_activity pa WHERE pa.workspace_id = $ws';
    const total = await this.count(`SELECT count(*)::DOUBLE ${from} ${and(f.where)}`, f.params);
    if (q.countOnly) return { total, rows: [] };
    const page = (
      await this.reader.runAndReadAll(
        `SELECT pa.person_key, pa.person_id, epoch_ms(pa.first_seen)::DOUBLE, epoch_ms(pa.last_seen)::DOUBLE,
           pa.event_count::DOUBLE, pa.revenue
         ${from} ${and([...f.where, ...f.after])} ${f.orderBy} LIMIT $limit::BIGINT`,
        { ...f.params, ...f.afterParams, limit: q.limit },
      )
    ).getRowsJS();
    const traits = await this.traitsByKey<number>(
      `SELECT person_key, key, value, epoch_ms(updated_at)::DOUBLE FROM person_traits
       WHERE workspace_id = $ws AND person_key IN (SELECT unnest($keys::INTEGER[])) ORDER BY key`,
      { ws: q.workspaceId, keys: intArray(page.map((r) => r[0] as number)) },
    );
    const stages = await this.currentStages(
      q.workspaceId,
      'person',
      page.map((r) => String(r[0])),
    );
    return {
      total,
      rows: page.map((r) => ({
        personKey: r[0] as number,
        personId: r[1] as string,
        firstSeen: (r[2] as number | null) ?? null,
        lastSeen: (r[3] as number | null) ?? null,
        events: r[4] as number,
        revenue: r[5] as number,
        traits: traits.get(r[0] as number) ?? [],
        stage: stages.get(String(r[0])) ?? null,
      })),
    };
  }

  /**
   * One page of a workspace's accounts: members (persons of the identifiers that joined with a
   * group call) and their activity from `person_activity`, traits from `account_traits`.
   */
  async listAccounts(q: ListQuery<string>): Promise<ListPage<AccountListRow>> {
    const f = listFilter(q, 'a', 'a.group_id');
    if (q.text !== undefined) {
      f.params.text = q.text;
      f.where.push(`(contains(lower(a.group_id), $text) OR a.group_id IN (SELECT group_id FROM account_traits
        WHERE workspace_id = $ws AND contains(lower(value), $text)))`);
    }
    q.traits.forEach((t, i) => {
      f.where.push(`a.group_id IN (SELECT group_id FROM account_traits WHERE workspace_id = $ws
        AND key = $tk${i} AND value IN ($tj${i}, $tv${i}))`);
      Object.assign(f.params, traitParams(t, i));
    });
    // An account touched a channel when one of its member persons did.
    journeyFilters(q, f, {
      kind: 'account',
      key: 'a.group_id',
      subject: 'subject',
      owners: (touched) => `SELECT am.group_id FROM account_members am
        JOIN person_map pm ON pm.identifier_id = am.identifier_id
        WHERE am.workspace_id = $ws AND pm.person_key IN (${touched})`,
    });
    const from = `FROM (
      SELECT m.group_id, count(*) AS members, min(pa.first_seen) AS first_seen, max(pa.last_seen) AS last_seen,
        coalesce(sum(pa.event_count), 0) AS event_count, coalesce(sum(pa.revenue), 0) AS revenue
      FROM (SELECT DISTINCT am.group_id, pm.person_key FROM account_members am
            JOIN person_map pm ON pm.identifier_id = am.identifier_id WHERE am.workspace_id = $ws) m
      LEFT JOIN person_activity pa ON pa.person_key = m.person_key
      GROUP BY m.group_id) a`;
    if (q.countOnly)
      return {
        total: await this.count(`SELECT count(*)::DOUBLE ${from} ${where(f.where)}`, f.params),
        rows: [],
      };
    // The aggregate is computed once, for the total and the page (it joins every member).
    const page = (
      await this.reader.runAndReadAll(
        `WITH a AS MATERIALIZED (SELECT * ${from} ${where(f.where)})
         SELECT a.group_id, a.members::DOUBLE, epoch_ms(a.first_seen)::DOUBLE, epoch_ms(a.last_seen)::DOUBLE,
           a.event_count::DOUBLE, a.revenue, (SELECT count(*) FROM a)::DOUBLE
         FROM a ${where(f.after)} ${f.orderBy} LIMIT $limit::BIGINT`,
        { ...f.params, ...f.afterParams, limit: q.limit },
      )
    ).getRowsJS();
    const total =
      page.length > 0
        ? (page[0]?.[6] as number)
        : await this.count(`SELECT count(*)::DOUBLE ${from} ${where(f.where)}`, f.params);
    const traits = await this.traitsByKey<string>(
      `SELECT group_id, key, value, epoch_ms(updated_at)::DOUBLE FROM account_traits
       WHERE workspace_id = $ws AND group_id IN (SELECT unnest($ids::VARCHAR[])) ORDER BY key`,
      { ws: q.workspaceId, ids: JSON.stringify(page.map((r) => r[0] as string)) },
    );
    const stages = await this.currentStages(
      q.workspaceId,
      'account',
      page.map((r) => r[0] as string),
    );
    return {
      total,
      rows: page.map((r) => ({
        groupId: r[0] as string,
        members: r[1] as number,
        firstSeen: (r[2] as number | null) ?? null,
        lastSeen: (r[3] as number | null) ?? null,
        events: r[4] as number,
        revenue: r[5] as number,
        traits: traits.get(r[0] as string) ?? [],
        stage: stages.get(r[0] as string) ?? null,
      })),
    };
  }

  /** The current stage (last `stage_history` row) of these subjects, by subject. */
  private async currentStages(
    workspaceId: string,
    kind: 'person' | 'account',
    subjects: string[],
  ): Promise<Map<string, StageRef>> {
    const out = new Map<string, StageRef>();
    if (subjects.length === 0) return out;
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT subject, arg_max({'id': stage, 'name': name}, position) FROM stage_history
         WHERE workspace_id = $ws AND subject_kind = $kind
           AND subject IN (SELECT unnest(from_json($subjects, '["VARCHAR"]')))
         GROUP BY subject`,
        { ws: workspaceId, kind, subjects: JSON.stringify(subjects) },
      )
    ).getRowsJS();
    for (const r of rows) {
      const cur = r[1] as { id: string; name: string };
      out.set(r[0] as string, { id: cur.id, name: cur.name });
    }
    return out;
  }

  private async count(sql: string, params: Record<string, DuckDBValue>): Promise<number> {
    return Number((await this.reader.runAndReadAll(sql, params)).getRowsJS()[0]?.[0] ?? 0);
  }

  /** Trait rows (owner, key, value, time) grouped by owner. */
  private async traitsByKey<K>(
    sql: string,
    params: Record<string, DuckDBValue>,
  ): Promise<Map<K, TraitValue[]>> {
    const out = new Map<K, TraitValue[]>();
    for (const r of (await this.reader.runAndReadAll(sql, params)).getRowsJS()) {
      const k = r[0] as K;
      const list = out.get(k) ?? [];
      list.push({ key: r[1] as string, value: r[2] as string, at: r[3] as number });
      out.set(k, list);
    }
    return out;
  }

  async exportEvents(identifierIds: number[]): Promise<StoredEvent[]> {
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT ${EVENT_COLUMNS} FROM events WHERE seq IN (
           SELECT seq FROM event_identity WHERE identifier_id IN (${idList(identifierIds)}))
         ORDER BY timestamp, seq`,
      )
    ).getRowsJS();
    return rows.map(rowToEvent);
  }

  async quarantineMentioning(workspaceId: string, values: string[]): Promise<QuarantinedMessage[]> {
    if (values.length === 0) return [];
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT ${QUARANTINE_COLUMNS}
         FROM quarantine WHERE workspace_id = $ws AND ${mentions(values.length)} ORDER BY received_at`,
        { ws: workspaceId, ...valueParams(values) },
      )
    ).getRowsJS();
    return rows.map(rowToQuarantine);
  }

  async deletePerson(req: DeletionRequest): Promise<DeletionCounts> {
    const ids = idList(req.identifierIds);
    const count = async (sql: string, params: Record<string, DuckDBValue> = {}) =>
      Number((await this.writer.runAndReadAll(sql, params)).getRowsJS()[0]?.[0] ?? 0);
    let counts: DeletionCounts = { events: 0, eventIdentity: 0, identifiers: 0, links: 0, quarantine: 0 };
    await this.transaction(async () => {
      // The person model: the person's rows, its identifiers' facts and map rows; the traits of
      // the accounts its group calls named are derived again without them.
      const keys = `SELECT person_key FROM person_map WHERE identifier_id IN (${ids})`;
      await this.writer.run(`DELETE FROM person_traits WHERE person_key IN (${keys})`);
      await this.writer.run(`DELETE FROM person_activity WHERE person_key IN (${keys})`);
      await this.writer.run(
        `DELETE FROM person_aliases WHERE alias_key IN (${ids}) OR person_key IN (${keys})`,
      );
      const accounts = (
        await this.writer.runAndReadAll(
          `SELECT DISTINCT workspace_id, group_id FROM identifier_traits
           WHERE identifier_id IN (${ids}) AND group_id <> ''`,
        )
      )
        .getRowsJS()
        .map((r) => ({ w: r[0] as string, g: r[1] as string }));
      for (const table of ['identifier_traits', 'identifier_activity', 'account_members', 'person_map'])
        await this.writer.run(`DELETE FROM ${table} WHERE identifier_id IN (${ids})`);
      if (accounts.length > 0) await this.deriveAccountTraits(JSON.stringify(accounts));
      // The events' facts go with them (page URLs, campaigns, user agents: the person's data too).
      await this.writer.run(
        `DELETE FROM event_facts WHERE seq IN (SELECT seq FROM event_identity WHERE identifier_id IN (${ids}))`,
      );
      const events = await count(
        `DELETE FROM events WHERE seq IN (SELECT seq FROM event_identity WHERE identifier_id IN (${ids}))`,
      );
      const eventIdentity = await count(`DELETE FROM event_identity WHERE identifier_id IN (${ids})`);
      const identifiers = await count(`DELETE FROM identifiers WHERE id IN (${ids})`);
      // Links keep their other members (what they prove about other people), minus these ids;
      // a link left with fewer than two members proves nothing and goes.
      const links = await count(
        `SELECT count(*) FROM identity_links WHERE list_has_any(identifiers, [${ids}]::INTEGER[])`,
      );
      await this.writer.run(
        `UPDATE identity_links SET identifiers = list_filter(identifiers, x -> NOT list_contains([${ids}]::INTEGER[], x))
         WHERE list_has_any(identifiers, [${ids}]::INTEGER[])`,
      );
      await this.writer.run('DELETE FROM identity_links WHERE len(identifiers) < 2');
      await this.writer.run(
        `UPDATE identity_ops SET identifiers = list_filter(identifiers, x -> NOT list_contains([${ids}]::INTEGER[], x)),
           others = list_filter(others, x -> NOT list_contains([${ids}]::INTEGER[], x))`,
      );
      const quarantine =
        req.values.length === 0
          ? 0
          : await count(
              `DELETE FROM quarantine WHERE workspace_id = $ws AND ${mentions(req.values.length)}`,
              {
                ws: req.workspaceId,
                ...valueParams(req.values),
              },
            );
      counts = { events, eventIdentity, identifiers, links, quarantine };
      for (const s of req.suppress) {
        await this.writer.run(
          'INSERT INTO suppressions VALUES ($1, $2, $3, $4, make_timestamp($5::BIGINT * 1000))',
          [s.workspaceId, s.type, s.valueHash, req.receiptId, req.at],
        );
      }
      await this.writer.run(
        'INSERT INTO deletion_receipts VALUES ($1, $2, $3, make_timestamp($4::BIGINT * 1000), $5::JSON, $6)',
        [req.receiptId, req.workspaceId, req.personId, req.at, JSON.stringify(counts), req.suppress.length],
      );
    });
    return counts;
  }

  private async transaction(work: () => Promise<void>): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      await work();
      await this.writer.run('COMMIT');
    } catch (e) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
}

// What the identity catch-up (`eventsAfter`) reads of each event's JSON, unless custom
// identifiers need it whole (core/identity/identifiers-of.ts, profile.ts `revenueOf`).

/** Any of these top-level keys (DuckDB's JSON functions: one parse, escaped keys decoded). */
const hasKey = (column: string, keys: string[]) =>
  `list_bool_or(json_exists(${column}, [${keys.map((k) => `'$."${k}"'`).join(', ')}]))`;

/**
 * Properties: only to compute the revenue an event books. The event's facts (migration 005)
 * hold that revenue, typed: an event books one exactly when its facts have one (`f.books`,
 * grouped so that no event can come twice). An event without
 * facts yet (they are back-filled when the loader starts, which is before any catch-up) falls
 * back to whether its properties can hold one: `revenue`, or a fallback event's own property.
 */
const CATCH_UP_PROPERTIES = `CASE WHEN f.books OR (f.books IS NULL AND e.type = 'track'
    AND (${hasKey('e.properties', ['revenue'])} OR e.event IN ('Order Completed', 'Order Refunded', 'Deal Closed Won')))
  THEN e.properties::VARCHAR END`;

/** Traits: whole for the calls whose traits are facts, else only when they can hold an email or phone. */
const CATCH_UP_TRAITS = `CASE WHEN e.type IN ('identify', 'group', 'alias') OR ${hasKey('e.traits', ['email', 'phone'])}
  THEN e.traits::VARCHAR END`;

/** Context: only when it holds traits (email, phone), a device (ids) or external ids. */
const CATCH_UP_CONTEXT = `CASE WHEN ${hasKey('e.context', ['traits', 'device', 'externalIds'])}
  THEN e.context::VARCHAR END`;

/** A quarantined payload mentions a value when it holds it as a JSON string. */
const mentions = (n: number) =>
  `(${Array.from({ length: n }, (_, i) => `contains(lower(payload), lower($v${i}))`).join(' OR ')})`;

const valueParams = (values: string[]): Record<string, DuckDBValue> =>
  Object.fromEntries(values.map((v, i) => [`v${i}`, JSON.stringify(v)]));

const and = (conditions: string[]) => conditions.map((c) => `AND ${c}`).join(' ');
const where = (conditions: string[]) => (conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`);

/** A list of values as one parameter, for `x IN (SELECT unnest(…))`. */
const varcharList = (param: string) => `SELECT unnest(from_json(${param}, '["VARCHAR"]'))`;

/**
 * The journey filters a list shares, as uncorrelated semi-joins (hash joins, like the trait
 * filters): the current stage, the subject's last `stage_history` row (highest position), is one
 * of `q.stages` (null: no row at all); and a journey touchpoint of one of `q.channels`, in the
 * touched range.
 */
function journeyFilters<K>(
  q: ListQuery<K>,
  f: { params: Record<string, DuckDBValue>; where: string[] },
  list: {
    /** `stage_history.subject_kind` of the list's rows. */
    kind: 'person' | 'account';
    /** The list's key column. */
    key: string;
    /** `stage_history.subject` as that key (a person's is its key as text). */
    subject: string;
    /** A query of the list's keys from a query of person keys (an account: its members'). */
    owners: (personKeys: string) => string;
  },
): void {
  const { kind, key, subject, owners } = list;
  if (q.stages !== undefined && q.stages.length > 0) {
    const ids = q.stages.filter((s): s is string => s !== null);
    const anyOf: string[] = [];
    if (ids.length > 0) {
      f.params.stages = JSON.stringify(ids);
      anyOf.push(`${key} IN (SELECT ${subject} FROM (
          SELECT subject, arg_max(stage, position) AS stage FROM stage_history
          WHERE workspace_id = $ws AND subject_kind = '${kind}' GROUP BY subject)
        WHERE stage IN (${varcharList('$stages')}))`);
    }
    if (ids.length < q.stages.length) {
      anyOf.push(`${key} NOT IN (SELECT ${subject} FROM stage_history
        WHERE workspace_id = $ws AND subject_kind = '${kind}' AND ${subject} IS NOT NULL)`);
    }
    f.where.push(anyOf.length === 1 ? (anyOf[0] as string) : `(${anyOf.join(' OR ')})`);
  }
  if (q.channels !== undefined || q.touchedFrom !== undefined || q.touchedTo !== undefined) {
    const touch = ['workspace_id = $ws'];
    if (q.channels !== undefined) {
      f.params.channels = JSON.stringify(q.channels.map((c) => c.toLowerCase()));
      touch.push(`lower(channel) IN (${varcharList('$channels')})`);
    }
    if (q.touchedFrom !== undefined) {
      f.params.touchedFrom = q.touchedFrom;
      touch.push('event_at >= make_timestamp($touchedFrom::BIGINT * 1000)');
    }
    if (q.touchedTo !== undefined) {
      f.params.touchedTo = q.touchedTo;
      touch.push('event_at < make_timestamp($touchedTo::BIGINT * 1000)');
    }
    f.where.push(
      `${key} IN (${owners(`SELECT person_key FROM journey_touchpoints WHERE ${touch.join(' AND ')}`)})`,
    );
  }
}

/** A trait filter's parameters: the value as a JSON string, and as JSON text (`5`, `true`). */
const traitParams = (t: { key: string; value: string }, i: number): Record<string, DuckDBValue> => ({
  [`tk${i}`]: t.key,
  [`tj${i}`]: JSON.stringify(t.value),
  [`tv${i}`]: t.value,
});

/**
 * The filters, order and keyset condition every list shares, over a relation `alias` with
 * `first_seen`, `last_seen` and a unique `key`. Rows without activity sort last either way.
 */
function listFilter<K>(q: ListQuery<K>, alias: string, key: string) {
  const params: Record<string, DuckDBValue> = { ws: q.workspaceId };
  const conditions: string[] = [];
  const col = `${alias}.${q.sort === 'lastSeen' ? 'last_seen' : 'first_seen'}`;
  if (q.seenFrom !== undefined) {
    params.seenFrom = q.seenFrom;
    conditions.push(`${alias}.last_seen >= make_timestamp($seenFrom::BIGINT * 1000)`);
  }
  if (q.seenTo !== undefined) {
    params.seenTo = q.seenTo;
    conditions.push(`${alias}.last_seen < make_timestamp($seenTo::BIGINT * 1000)`);
  }
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const op = q.order === 'desc' ? '<' : '>';
  const after: string[] = [];
  const afterParams: Record<string, DuckDBValue> = {};
  if (q.after) {
    afterParams.afterKey = q.after.key as DuckDBValue;
    const keyCast = typeof q.after.key === 'number' ? '::INTEGER' : '';
    if (q.after.value === null) after.push(`(${col} IS NULL AND ${key} ${op} $afterKey${keyCast})`);
    else {
      afterParams.afterValue = q.after.value;
      const v = 'make_timestamp($afterValue::BIGINT * 1000)';
      after.push(
        `(${col} ${op} ${v} OR (${col} = ${v} AND ${key} ${op} $afterKey${keyCast}) OR ${col} IS NULL)`,
      );
    }
  }
  return {
    params,
    where: conditions,
    after,
    afterParams,
    orderBy: `ORDER BY ${col} ${dir} NULLS LAST, ${key} ${dir}`,
  };
}
