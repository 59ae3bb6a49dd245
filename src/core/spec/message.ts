/** Segment-spec message shapes, as received and as stored. */

export const MESSAGE_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Segment's documented limits for the HTTP Tracking API. */
export const LIMITS = {
  messageBytes: 32 * 1024,
  requestBytes: 500 * 1024,
  batchMessages: 2500,
  messageIdChars: 100,
  nestingDepth: 64,
} as const;

/** A message whose fields have the right types; timestamps parsed, ids as strings. */
export interface ValidMessage {
  type: MessageType;
  messageId?: string;
  userId?: string;
  anonymousId?: string;
  groupId?: string;
  previousId?: string;
  event?: string;
  name?: string;
  properties?: JsonObject;
  traits?: JsonObject;
  context?: JsonObject;
  integrations?: JsonObject;
  /** Top-level fields outside the spec (e.g. `category`, `_metadata`), kept so nothing is lost. */
  extra?: JsonObject;
  /** Client `timestamp`, epoch ms. */
  timestamp?: number;
  /** Client `sentAt`, epoch ms (message or batch envelope). */
  sentAt?: number;
}

/**
 * An event as committed: the client's fields plus what the server derived.
 * JSON parts are kept serialised, exactly as they will be stored.
 */
export interface StoredEvent {
  workspaceId: string;
  /** Stable, gap-tolerant sequence: the deterministic tie-break for equal timestamps. */
  seq: number;
  messageId: string;
  type: MessageType;
  event: string | null;
  name: string | null;
  userId: string | null;
  anonymousId: string | null;
  groupId: string | null;
  previousId: string | null;
  /** Corrected event time, epoch ms. */
  timestamp: number;
  originalTimestamp: number | null;
  sentAt: number | null;
  receivedAt: number;
  ip: string | null;
  properties: string | null;
  traits: string | null;
  context: string | null;
  integrations: string | null;
  extra: string | null;
  /** Hash of the client's payload; tells an exact retry from a conflicting reuse of a messageId. */
  fingerprint: string;
}

/** A message (or request) that could not be accepted, kept with its reason. */
export interface QuarantinedMessage {
  workspaceId: string;
  receivedAt: number;
  requestId: string;
  /** Position in the batch, or null for a single message / whole request. */
  batchIndex: number | null;
  messageId: string | null;
  code: string;
  reason: string;
  field: string | null;
  /** The raw payload as text (possibly truncated for huge bodies). */
  payload: string;
}
