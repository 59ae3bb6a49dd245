import { err, ok, type Result } from '../result.js';
import { fingerprint } from './fingerprint.js';
import { type JsonObject, LIMITS, type StoredEvent, type ValidMessage } from './message.js';
import type { MessageError } from './validate-message.js';

/** Segment clamps corrected timestamps this far in the future back to receivedAt. */
export const MAX_FUTURE_MS = 23 * 60 * 60 * 1000;

/** Fields of a `/v1/batch` envelope that apply to every message in it. */
export interface BatchEnvelope {
  context?: JsonObject;
  integrations?: JsonObject;
  sentAt?: number;
}

export interface NormalizeContext {
  workspaceId: string;
  receivedAt: number;
  seq: number;
  /** The caller's address, used for `context.ip` when the message has none. */
  ip: string | null;
  envelope?: BatchEnvelope;
  /** Supplies a messageId when the client sent none (passed in to keep the core deterministic). */
  newMessageId: () => string;
}

/**
 * Applies Segment's server-side rules: envelope merge, messageId fill, clock-skew correction
 * (`timestamp = receivedAt − (sentAt − originalTimestamp)`), future clamp, size limit.
 */
export function normalizeMessage(
  msg: ValidMessage,
  ctx: NormalizeContext,
): Result<StoredEvent, MessageError> {
  const env = ctx.envelope;
  const context = env?.context ? { ...env.context, ...msg.context } : msg.context;
  const integrations = env?.integrations ? { ...env.integrations, ...msg.integrations } : msg.integrations;

  const properties = stringify(msg.properties);
  const traits = stringify(msg.traits);
  const contextJson = stringify(context);
  const integrationsJson = stringify(integrations);
  const extra = stringify(msg.extra);

  const size =
    byteLength(properties) +
    byteLength(traits) +
    byteLength(contextJson) +
    byteLength(integrationsJson) +
    byteLength(extra) +
    byteLength(msg.event) +
    byteLength(msg.name) +
    byteLength(msg.userId) +
    byteLength(msg.anonymousId);
  if (size > LIMITS.messageBytes) {
    return err({
      code: 'message_too_large',
      message: `message is ${size} bytes; at most ${LIMITS.messageBytes} are allowed`,
    });
  }

  const sentAt = msg.sentAt ?? env?.sentAt ?? null;
  const original = msg.timestamp ?? null;

  return ok({
    workspaceId: ctx.workspaceId,
    seq: ctx.seq,
    messageId: msg.messageId ?? ctx.newMessageId(),
    type: msg.type,
    event: msg.event ?? null,
    name: msg.name ?? null,
    userId: msg.userId ?? null,
    anonymousId: msg.anonymousId ?? null,
    groupId: msg.groupId ?? null,
    previousId: msg.previousId ?? null,
    timestamp: correctedTimestamp(original, sentAt, ctx.receivedAt),
    originalTimestamp: original,
    sentAt,
    receivedAt: ctx.receivedAt,
    ip: typeof context?.ip === 'string' ? context.ip : ctx.ip,
    properties,
    traits,
    context: contextJson,
    integrations: integrationsJson,
    extra,
    fingerprint: fingerprint([
      msg.type,
      msg.event,
      msg.name,
      msg.userId,
      msg.anonymousId,
      msg.groupId,
      msg.previousId,
      original,
      properties,
      traits,
      contextJson,
      integrationsJson,
      extra,
    ]),
  });
}

/** Segment's clock-skew correction; see docs/api.md "Timestamps". */
export function correctedTimestamp(
  original: number | null,
  sentAt: number | null,
  receivedAt: number,
): number {
  if (original === null) return receivedAt;
  const corrected = sentAt === null ? original : receivedAt - (sentAt - original);
  return corrected > receivedAt + MAX_FUTURE_MS ? receivedAt : corrected;
}

const stringify = (v: JsonObject | undefined): string | null => (v === undefined ? null : JSON.stringify(v));

const byteLength = (s: string | null | undefined): number => (s ? Buffer.byteLength(s, 'utf8') : 0);
