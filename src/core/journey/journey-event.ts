import type { JsonObject, JsonValue, MessageType, StoredEvent } from '../spec/message.js';

/** What the journey model reads of an event: the stored event with its JSON parts parsed. */
export interface JourneyEvent {
  seq: number;
  messageId: string;
  type: MessageType;
  /** `event` for track, `name` for page/screen. */
  event: string | null;
  name: string | null;
  groupId: string | null;
  /** Corrected event time, epoch ms. */
  timestamp: number;
  properties: JsonObject | null;
  traits: JsonObject | null;
  context: JsonObject | null;
}

const parse = (json: string | null): JsonObject | null => {
  if (json === null) return null;
  const v = JSON.parse(json) as JsonValue;
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : null;
};

export function journeyEventOf(e: StoredEvent): JourneyEvent {
  return {
    seq: e.seq,
    messageId: e.messageId,
    type: e.type,
    event: e.event,
    name: e.name,
    groupId: e.groupId,
    timestamp: e.timestamp,
    properties: parse(e.properties),
    traits: parse(e.traits),
    context: parse(e.context),
  };
}

/** A dotted path into a JSON object (`page.url`), or null. */
export function pathOf(obj: JsonObject | null, path: string): JsonValue | null {
  let v: JsonValue | undefined = obj ?? undefined;
  for (const key of path.split('.')) {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) return null;
    v = v[key];
  }
  return v ?? null;
}

/** A scalar as a condition field value; objects and arrays are not comparable. */
export function scalarOf(v: JsonValue | null): string | number | boolean | null {
  return v === null || typeof v === 'object' ? null : v;
}

/** A trimmed, non-empty string, or null ('' and 'null' count as missing, as in PostHog). */
export function textOf(v: JsonValue | null | undefined): string | null {
  if (v === null || v === undefined || typeof v === 'object') return null;
  const s = String(v).trim();
  return s === '' || s.toLowerCase() === 'null' || s.toLowerCase() === 'undefined' ? null : s;
}

/** Orders events by time, then seq: the one order every journey computation uses. */
export const byTime = (a: JourneyEvent, b: JourneyEvent): number =>
  a.timestamp - b.timestamp || a.seq - b.seq;
