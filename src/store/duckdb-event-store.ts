import type { DuckDBConnection, DuckDBPreparedStatement, DuckDBValue } from '@duckdb/node-api';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { CommitBatch, EventQuery, EventStore, QuarantineQuery } from '../services/ports.js';
import { EVENT_COLUMNS, QUARANTINE_COLUMNS, rowToEvent, rowToQuarantine } from './event-rows.js';
import {
  EVENT_ROW_COLUMNS,
  EVENT_ROW_SELECT,
  eventsJson,
  QUARANTINE_ROW_COLUMNS,
  QUARANTINE_ROW_SELECT,
  quarantineJson,
} from './row-json.js';

/**
 * Rows go to DuckDB as one JSON array per commit, bound to a prepared INSERT. The main thread
 * only concatenates already-serialised parts; parsing, inserting and the durable commit run on
 * DuckDB's threads, so the event loop is never blocked by a flush, however large the group.
 */
const INSERT_EVENTS = `INSERT INTO events SELECT ${EVENT_ROW_SELECT}
  FROM (SELECT unnest(json_transform($1::JSON, '[${EVENT_ROW_COLUMNS}]')) AS r)`;

const INSERT_QUARANTINE = `INSERT INTO quarantine SELECT ${QUARANTINE_ROW_SELECT}
  FROM (SELECT unnest(json_transform($1::JSON, '[${QUARANTINE_ROW_COLUMNS}]')) AS r)`;

/** The event store on embedded DuckDB: JSON-bound group inserts for writes, SQL for reads. */
export class DuckDBEventStore implements EventStore {
  private statements: Promise<{
    events: DuckDBPreparedStatement;
    quarantine: DuckDBPreparedStatement;
  }> | null = null;

  constructor(
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  private prepared(): Promise<{ events: DuckDBPreparedStatement; quarantine: DuckDBPreparedStatement }> {
    if (!this.statements) {
      const preparing = this.prepareStatements();
      this.statements = preparing;
      // A failure is retried by the next commit rather than remembered.
      preparing.catch(() => {
        if (this.statements === preparing) this.statements = null;
      });
    }
    return this.statements;
  }

  private async prepareStatements() {
    return {
      events: await this.writer.prepare(INSERT_EVENTS),
      quarantine: await this.writer.prepare(INSERT_QUARANTINE),
    };
  }

  async commit({ events, quarantine }: CommitBatch): Promise<void> {
    const statements = await this.prepared();
    const insert = (statement: DuckDBPreparedStatement, json: string) => {
      statement.bindVarchar(1, json);
      return statement.run();
    };
    // One statement is one transaction, and DuckDB syncs its write-ahead log on commit: once this
    // resolves the rows survive a crash. Both tables at once need an explicit transaction.
    if (quarantine.length === 0) {
      await insert(statements.events, eventsJson(events));
      return;
    }
    if (events.length === 0) {
      await insert(statements.quarantine, quarantineJson(quarantine));
      return;
    }
    await this.writer.run('BEGIN TRANSACTION');
    try {
      await insert(statements.events, eventsJson(events));
      await insert(statements.quarantine, quarantineJson(quarantine));
      await this.writer.run('COMMIT');
    } catch (e) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /** Releases the prepared statements (shutdown, after the last commit). */
  async close(): Promise<void> {
    const statements = await this.statements?.catch(() => null);
    this.statements = null;
    statements?.events.destroySync();
    statements?.quarantine.destroySync();
  }

  async maxSeq(): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT coalesce(max(seq), 0)::DOUBLE FROM events');
    return Number(r.getRowsJS()[0]?.[0] ?? 0);
  }

  async loadFingerprints(
    sinceMs: number,
    onRow: (workspaceId: string, messageId: string, fingerprint: string) => void,
    workspaceId?: string,
  ): Promise<number> {
    const result = await this.reader.stream(
      `SELECT workspace_id, message_id, fingerprint FROM events
       WHERE received_at >= epoch_ms($since::BIGINT) ${workspaceId === undefined ? '' : 'AND workspace_id = $ws'}`,
      workspaceId === undefined ? { since: sinceMs } : { since: sinceMs, ws: workspaceId },
    );
    let n = 0;
    for await (const chunk of result.yieldRowsJs()) {
      for (const row of chunk) {
        onRow(row[0] as string, row[1] as string, row[2] as string);
        n++;
      }
    }
    return n;
  }

  async listEvents(q: EventQuery): Promise<StoredEvent[]> {
    const where = ['workspace_id = $ws'];
    const params: Record<string, DuckDBValue> = { ws: q.workspaceId, limit: q.limit };
    const eq = (column: string, name: string, value: string | undefined) => {
      if (value === undefined) return;
      where.push(`${column} = $${name}`);
      params[name] = value;
    };
    eq('type', 'type', q.type);
    eq('event', 'event', q.event);
    eq('user_id', 'userId', q.userId);
    eq('anonymous_id', 'anonymousId', q.anonymousId);
    if (q.from !== undefined) {
      where.push('timestamp >= epoch_ms($from::BIGINT)');
      params.from = q.from;
    }
    if (q.to !== undefined) {
      where.push('timestamp < epoch_ms($to::BIGINT)');
      params.to = q.to;
    }
    if (q.after) {
      where.push(
        '(timestamp < epoch_ms($cts::BIGINT) OR (timestamp = epoch_ms($cts::BIGINT) AND seq < $cseq::BIGINT))',
      );
      params.cts = q.after.timestamp;
      params.cseq = q.after.seq;
    }
    const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${where.join(' AND ')}
      ORDER BY timestamp DESC, seq DESC LIMIT $limit::BIGINT`;
    const rows = (await this.reader.runAndReadAll(sql, params)).getRowsJS();
    return rows.map(rowToEvent);
  }

  async listQuarantine(q: QuarantineQuery): Promise<QuarantinedMessage[]> {
    const params: Record<string, DuckDBValue> = { ws: q.workspaceId, limit: q.limit };
    let filter = '';
    if (q.code !== undefined) {
      filter = 'AND code = $code';
      params.code = q.code;
    }
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT ${QUARANTINE_COLUMNS}
         FROM quarantine WHERE workspace_id = $ws ${filter} ORDER BY received_at DESC LIMIT $limit::BIGINT`,
        params,
      )
    ).getRowsJS();
    return rows.map(rowToQuarantine);
  }
}
