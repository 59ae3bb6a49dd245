import type { JsonObject, StoredEvent } from './message.js';
import { toIso } from './timestamp.js';

/** A stored event read back in Segment's message shape, with the server-derived times. */
export function toSegmentShape(e: StoredEvent): JsonObject {
  const out: JsonObject = e.extra ? (JSON.parse(e.extra) as JsonObject) : {};
  out.type = e.type;
  out.messageId = e.messageId;
  setIf(out, 'userId', e.userId);
  setIf(out, 'anonymousId', e.anonymousId);
  setIf(out, 'event', e.event);
  setIf(out, 'name', e.name);
  setIf(out, 'groupId', e.groupId);
  setIf(out, 'previousId', e.previousId);
  if (e.properties) out.properties = JSON.parse(e.properties) as JsonObject;
  if (e.traits) out.traits = JSON.parse(e.traits) as JsonObject;
  const context = e.context ? (JSON.parse(e.context) as JsonObject) : {};
  if (e.ip !== null) context.ip = e.ip;
  out.context = context;
  if (e.integrations) out.integrations = JSON.parse(e.integrations) as JsonObject;
  out.timestamp = toIso(e.timestamp);
  out.originalTimestamp = e.originalTimestamp === null ? null : toIso(e.originalTimestamp);
  out.sentAt = e.sentAt === null ? null : toIso(e.sentAt);
  out.receivedAt = toIso(e.receivedAt);
  return out;
}

function setIf(o: JsonObject, key: string, v: string | null): void {
  if (v !== null) o[key] = v;
}
