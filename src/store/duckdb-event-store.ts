import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { CommitBatch, EventQuery, EventStore, QuarantineQuery } from '../services/ports.js';

const ts = (ms: number): DuckDBTimestampValue => new DuckDBTimestampValue(BigInt(ms) * 1000n);

function appendNullable(a: DuckDBAppender, v: string | null): void {
  if (v === null) a.appendNull();
  else a.appendVarchar(v);
}

function appendTime(a: DuckDBAppender, v: number | null): void {
  if (v === null) a.appendNull();
  else a.appendTimestamp(ts(v));
}

const EVENT_COLUMNS = `workspace_id, seq::DOUBLE, message_id, type, event, name, user_id, anonymous_id, group_id,
  previous_id, epoch_ms(timestamp)::DOUBLE, epoch_ms(original_timestamp)::DOUBLE, epoch_ms(sent_at)::DOUBLE,
  epoch_ms(received_at)::DOUBLE, ip, properties::VARCHAR, traits::VARCHAR, context::VARCHAR,
  integrations::VARCHAR, extra::VARCHAR, fingerprint`;

/** The event store on embedded DuckDB: appender-based group commits, SQL for reads. */
export class DuckDBEventStore implements EventStore {
  constructor(
    private readonly writer: DuckDBConnection,
    private readonly reader: DuckDBConnection,
  ) {}

  async commit({ events, quarantine }: CommitBatch): Promise<void> {
    await this.writer.run('BEGIN TRANSACTION');
    try {
      if (events.length > 0) await this.appendEvents(events);
      if (quarantine.length > 0) await this.appendQuarantine(quarantine);
      // DuckDB syncs its write-ahead log on commit: once this resolves the rows survive a crash.
      await this.writer.run('COMMIT');
    } catch (e) {
      await this.writer.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  private async appendEvents(events: StoredEvent[]): Promise<void> {
    const a = await this.writer.createAppender('events');
    try {
      for (const e of events) {
        a.appendVarchar(e.workspaceId);
        a.appendBigInt(BigInt(e.seq));
        a.appendVarchar(e.messageId);
        a.appendVarchar(e.type);
        appendNullable(a, e.event);
        appendNullable(a, e.name);
        appendNullable(a, e.userId);
        appendNullable(a, e.anonymousId);
        appendNullable(a, e.groupId);
        appendNullable(a, e.previousId);
        a.appendTimestamp(ts(e.timestamp));
        appendTime(a, e.originalTimestamp);
        appendTime(a, e.sentAt);
        a.appendTimestamp(ts(e.receivedAt));
        appendNullable(a, e.ip);
        appendNullable(a, e.properties);
        appendNullable(a, e.traits);
        appendNullable(a, e.context);
        appendNullable(a, e.integrations);
        appendNullable(a, e.extra);
        a.appendVarchar(e.fingerprint);
        a.endRow();
      }
      a.flushSync();
    } finally {
      a.closeSync();
    }
  }

  private async appendQuarantine(rows: QuarantinedMessage[]): Promise<void> {
    const a = await this.writer.createAppender('quarantine');
    try {
      for (const q of rows) {
        a.appendVarchar(q.workspaceId);
        a.appendTimestamp(ts(q.receivedAt));
        a.appendVarchar(q.requestId);
        if (q.batchIndex === null) a.appendNull();
        else a.appendInteger(q.batchIndex);
        appendNullable(a, q.messageId);
        a.appendVarchar(q.code);
        a.appendVarchar(q.reason);
        appendNullable(a, q.field);
        a.appendVarchar(q.payload);
        a.endRow();
      }
      a.flushSync();
    } finally {
      a.closeSync();
    }
  }

  async maxSeq(): Promise<number> {
    const r = await this.reader.runAndReadAll('SELECT coalesce(max(seq), 0)::DOUBLE FROM events');
    return Number(r.getRowsJS()[0]?.[0] ?? 0);
  }

  async loadFingerprints(
    sinceMs: number,
    onRow: (workspaceId: string, messageId: string, fingerprint: string) => void,
  ): Promise<number> {
    const result = await this.reader.stream(
      'SELECT workspace_id, message_id, fingerprint FROM events WHERE received_at >= epoch_ms($1::BIGINT) ORDER BY seq',
      [sinceMs],
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
        `SELECT workspace_id, epoch_ms(received_at)::DOUBLE, request_id, batch_index, message_id, code, reason, field, payload
         FROM quarantine WHERE workspace_id = $ws ${filter} ORDER BY received_at DESC LIMIT $limit::BIGINT`,
        params,
      )
    ).getRowsJS();
    return rows.map((r) => ({
      workspaceId: r[0] as string,
      receivedAt: r[1] as number,
      requestId: r[2] as string,
      batchIndex: (r[3] as number | null) ?? null,
      messageId: (r[4] as string | null) ?? null,
      code: r[5] as string,
      reason: r[6] as string,
      field: (r[7] as string | null) ?? null,
      payload: r[8] as string,
    }));
  }
}

function rowToEvent(r: unknown[]): StoredEvent {
  const s = (i: number) => (r[i] as string | null) ?? null;
  const n = (i: number) => (r[i] as number | null) ?? null;
  return {
    workspaceId: r[0] as string,
    seq: r[1] as number,
    messageId: r[2] as string,
    type: r[3] as MessageType,
    event: s(4),
    name: s(5),
    userId: s(6),
    anonymousId: s(7),
    groupId: s(8),
    previousId: s(9),
    timestamp: r[10] as number,
    originalTimestamp: n(11),
    sentAt: n(12),
    receivedAt: r[13] as number,
    ip: s(14),
    properties: s(15),
    traits: s(16),
    context: s(17),
    integrations: s(18),
    extra: s(19),
    fingerprint: r[20] as string,
  };
}
