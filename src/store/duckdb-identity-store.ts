import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { LinkRule } from '../core/identity/link.js';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type {
  ActivityStats,
  DeletionCounts,
  DeletionRequest,
  IdentityBatch,
  IdentityOpRow,
  IdentityStore,
  LinkRow,
  Suppression,
  TimelineQuery,
  TraitEvent,
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

/** The identity graph's tables on DuckDB. Writes on their own connection, reads on the shared reader. */
export class DuckDBIdentityStore implements IdentityStore {
  constructor(
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  async load(h: Parameters<IdentityStore['load']>[0]): Promise<{ processedSeq: number }> {
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
      await this.writer.run('UPDATE identity_progress SET processed_seq = $1::BIGINT WHERE id = 1', [
        b.processedSeq,
      ]);
    });
  }

  async appendOp(op: IdentityOpRow, links: LinkRow[]): Promise<void> {
    await this.transaction(async () => {
      await this.writer.run(
        `INSERT INTO identity_ops VALUES ($1, $2, $3, $4::INTEGER[], $5::INTEGER[], $6, $7, $8, make_timestamp($9::BIGINT * 1000))`,
        [
          op.id,
          op.workspaceId,
          op.kind,
          `[${op.identifiers.join(',')}]`,
          `[${op.others.join(',')}]`,
          op.linkId,
          op.undoes,
          op.reason,
          op.at,
        ],
      );
      if (links.length > 0) await this.writer.run(LINKS_INSERT, [linksJson(links)]);
    });
  }

  async eventsAfter(
    seq: number,
    wholeContext: boolean,
    onChunk: (events: StoredEvent[]) => Promise<void> | void,
  ): Promise<void> {
    // The same columns as EVENT_COLUMNS, with what identity cannot use left out: moving large
    // JSON texts into JavaScript is most of the cost of catching up.
    const context = wholeContext
      ? 'context::VARCHAR'
      : `CASE WHEN contains(context::VARCHAR, '"traits"') OR contains(context::VARCHAR, '"device"')
           OR contains(context::VARCHAR, '"externalIds"') THEN context::VARCHAR END`;
    const result = await this.reader.stream(
      `SELECT workspace_id, seq::DOUBLE, message_id, type, event, name, user_id, anonymous_id, group_id,
         previous_id, epoch_ms(timestamp)::DOUBLE, NULL, NULL, epoch_ms(received_at)::DOUBLE, NULL,
         CASE WHEN type = 'track' AND (contains(properties::VARCHAR, '"revenue"')
           OR event IN ('Order Completed', 'Order Refunded', 'Deal Closed Won')) THEN properties::VARCHAR END,
         ${wholeContext ? 'traits::VARCHAR' : `CASE WHEN type IN ('identify', 'group', 'alias') OR contains(traits::VARCHAR, '"email"') OR contains(traits::VARCHAR, '"phone"') THEN traits::VARCHAR END`},
         ${context}, NULL, NULL, fingerprint
       FROM events WHERE seq > $1::BIGINT ORDER BY seq`,
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

  async traitEvents(identifierIds: number[]): Promise<TraitEvent[]> {
    const rows = await this.rowsOf(identifierIds, 'seq::DOUBLE, type');
    return this.traitRows(rows.filter((r) => r[1] === 'identify').map((r) => r[0] as number));
  }

  async accountTraitEvents(workspaceId: string, groupId: string): Promise<TraitEvent[]> {
    const rows = await this.reader.runAndReadAll(
      `SELECT seq::DOUBLE FROM event_identity WHERE workspace_id = $ws AND group_id = $gid AND type = 'group'`,
      { ws: workspaceId, gid: groupId },
    );
    return this.traitRows(rows.getRowsJS().map((r) => r[0] as number));
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

  async identifiersWithTrait(workspaceId: string, text: string, limit: number): Promise<number[]> {
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT DISTINCT ei.identifier_id FROM events e JOIN event_identity ei ON ei.seq = e.seq
         WHERE e.workspace_id = $ws AND e.type = 'identify' AND contains(lower(e.traits::VARCHAR), lower($q))
         LIMIT $limit::BIGINT`,
        { ws: workspaceId, q: text, limit },
      )
    ).getRowsJS();
    return rows.map((r) => Number(r[0]));
  }

  private async traitRows(seqs: number[]): Promise<TraitEvent[]> {
    if (seqs.length === 0) return [];
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT traits::VARCHAR, epoch_ms(timestamp)::DOUBLE, message_id, seq::DOUBLE FROM events WHERE seq IN (${seqs.join(',')})`,
      )
    ).getRowsJS();
    return rows.map((r) => ({
      traits: (r[0] as string | null) ?? null,
      timestamp: r[1] as number,
      messageId: r[2] as string,
      seq: r[3] as number,
    }));
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

/** A quarantined payload mentions a value when it holds it as a JSON string. */
const mentions = (n: number) =>
  `(${Array.from({ length: n }, (_, i) => `contains(lower(payload), lower($v${i}))`).join(' OR ')})`;

const valueParams = (values: string[]): Record<string, DuckDBValue> =>
  Object.fromEntries(values.map((v, i) => [`v${i}`, JSON.stringify(v)]));
