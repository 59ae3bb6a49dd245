import type { JsonObject, JsonValue } from '../spec/message.js';

export interface TraitSource {
  traits: string | null;
  timestamp: number;
  messageId: string;
}

/**
 * Traits merged by event time: for each key the value from the newest event wins, whatever the
 * arrival order; equal times fall back to the messageId so the result is always the same.
 */
export function foldTraits(sources: TraitSource[]): {
  traits: JsonObject;
  updatedAt: Record<string, number>;
} {
  const ordered = [...sources].sort(
    (a, b) =>
      a.timestamp - b.timestamp || (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0),
  );
  const traits: JsonObject = {};
  const updatedAt: Record<string, number> = {};
  for (const s of ordered) {
    if (s.traits === null) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(s.traits);
    } catch {
      continue;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
    for (const [k, v] of Object.entries(parsed as Record<string, JsonValue>)) {
      traits[k] = v;
      updatedAt[k] = s.timestamp;
    }
  }
  return { traits, updatedAt };
}

const REVENUE_FALLBACK: Record<string, string> = {
  'Order Completed': 'total',
  'Deal Closed Won': 'amount',
  'Order Refunded': 'total',
};

/**
 * The revenue an event books: Segment's `properties.revenue` on any track call, else the order
 * total of an Order Completed or the amount of a Deal Closed Won. Refunds book negative.
 */
export function revenueOf(type: string, event: string | null, properties: string | null): number | null {
  if (type !== 'track' || properties === null || event === null) return null;
  const fallback = REVENUE_FALLBACK[event];
  if (!properties.includes('"revenue"') && !(fallback && properties.includes(`"${fallback}"`))) return null;
  let p: Record<string, unknown>;
  try {
    p = JSON.parse(properties) as Record<string, unknown>;
  } catch {
    return null;
  }
  const raw = p.revenue ?? (fallback ? p[fallback] : undefined);
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) return null;
  return event === 'Order Refunded' ? -Math.abs(n) : n;
}
