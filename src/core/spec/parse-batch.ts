import { err, ok, type Result } from '../result.js';
import { type JsonObject, LIMITS } from './message.js';
import type { BatchEnvelope } from './normalize-message.js';
import { parseTimestamp } from './timestamp.js';
import { isObject, type MessageError, nestingDepthExceeds, tooDeep } from './validate-message.js';

export interface ParsedBatch {
  messages: unknown[];
  envelope: BatchEnvelope;
}

/** Reads a `/v1/batch` (or `/v1/import`) body: the `batch` array and the envelope fields that apply to each message. */
export function parseBatch(body: Record<string, unknown>): Result<ParsedBatch, MessageError> {
  const batch = body.batch;
  if (!Array.isArray(batch)) {
    return err({ code: 'invalid_body', message: 'batch must be an array of messages', field: 'batch' });
  }
  if (batch.length > LIMITS.batchMessages) {
    return err({
      code: 'too_many_messages',
      message: `batch has ${batch.length} messages; at most ${LIMITS.batchMessages} are allowed`,
      field: 'batch',
    });
  }
  const envelope: BatchEnvelope = {};
  for (const field of ['context', 'integrations'] as const) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) return err({ code: 'invalid_type', message: `${field} must be an object`, field });
    envelope[field] = v as JsonObject;
  }
  // Merged into every message, so held to the messages' limit: a message's own check never
  // sees them, and serialising hostile nesting would overflow the stack.
  const deep = nestingDepthExceeds(envelope, LIMITS.nestingDepth);
  if (deep) return err({ code: 'nesting_too_deep', message: `batch ${tooDeep(deep)}`, field: deep });
  if (body.sentAt !== undefined && body.sentAt !== null) {
    const sentAt = typeof body.sentAt === 'string' ? parseTimestamp(body.sentAt) : err('not a string');
    if (!sentAt.ok) {
      return err({ code: 'invalid_timestamp', message: `sentAt: ${sentAt.error}`, field: 'sentAt' });
    }
    envelope.sentAt = sentAt.value;
  }
  return ok({ messages: batch, envelope });
}
