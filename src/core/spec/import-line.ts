import { err, ok, type Result } from '../result.js';
import type { StoredEvent } from './message.js';
import { normalizeMessage } from './normalize-message.js';
import { parseTimestamp } from './timestamp.js';
import { type MessageError, messageIdOf, validateMessage } from './validate-message.js';

export interface ImportLineContext {
  workspaceId: string;
  seq: number;
  /** When the import runs: the arrival time of lines that do not say when they arrived. */
  now: number;
  newMessageId: () => string;
}

export interface ImportLineError extends MessageError {
  /** The message's id when it had one, for the quarantine row. */
  messageId: string | null;
}

/**
 * One line of a Segment-format NDJSON file, through the same validation and normalisation as
 * the Tracking API. Exports (and the simulator) record when each message reached the
 * collector in `receivedAt`; it is the arrival time clock-skew correction needs, so it is
 * used as such. Without it the line is taken as arriving now.
 */
export function importLine(line: string, ctx: ImportLineContext): Result<StoredEvent, ImportLineError> {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return err({ code: 'invalid_json', message: `not JSON: ${(e as Error).message}`, messageId: null });
  }
  const messageId = messageIdOf(raw);
  const valid = validateMessage(raw);
  if (!valid.ok) return err({ ...valid.error, messageId });
  let receivedAt = ctx.now;
  const rawReceived = (raw as Record<string, unknown>).receivedAt;
  if (rawReceived !== undefined && rawReceived !== null) {
    const parsed = typeof rawReceived === 'string' ? parseTimestamp(rawReceived) : err('not a string');
    if (!parsed.ok) {
      return err({
        code: 'invalid_timestamp',
        message: `receivedAt: ${parsed.error}`,
        field: 'receivedAt',
        messageId,
      });
    }
    receivedAt = parsed.value;
  }
  const normalized = normalizeMessage(valid.value, {
    workspaceId: ctx.workspaceId,
    receivedAt,
    seq: ctx.seq,
    ip: null,
    newMessageId: ctx.newMessageId,
  });
  return normalized.ok ? ok(normalized.value) : err({ ...normalized.error, messageId });
}
