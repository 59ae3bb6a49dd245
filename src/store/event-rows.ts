import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/** Reading events back: the column list every event query selects, and its row → event mapping. */
export const EVENT_COLUMNS = `workspace_id, seq::DOUBLE, message_id, type, event, name, user_id, anonymous_id, group_id,
  previous_id, epoch_ms(timestamp)::DOUBLE, epoch_ms(original_timestamp)::DOUBLE, epoch_ms(sent_at)::DOUBLE,
  epoch_ms(received_at)::DOUBLE, ip, properties::VARCHAR, traits::VARCHAR, context::VARCHAR,
  integrations::VARCHAR, extra::VARCHAR, fingerprint`;

export function rowToEvent(r: unknown[]): StoredEvent {
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

/** The quarantine columns every quarantine query selects, and the row → record mapping. */
export const QUARANTINE_COLUMNS =
  'workspace_id, epoch_ms(received_at)::DOUBLE, request_id, batch_index, message_id, code, reason, field, payload';

export function rowToQuarantine(r: unknown[]): QuarantinedMessage {
  return {
    workspaceId: r[0] as string,
    receivedAt: r[1] as number,
    requestId: r[2] as string,
    batchIndex: (r[3] as number | null) ?? null,
    messageId: (r[4] as string | null) ?? null,
    code: r[5] as string,
    reason: r[6] as string,
    field: (r[7] as string | null) ?? null,
    payload: r[8] as string,
  };
}
