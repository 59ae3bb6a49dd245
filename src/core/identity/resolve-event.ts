import { type IdentitySource, identifiersOf } from './identifiers-of.js';
import type { IdentityGraph } from './identity-graph.js';
import type { Link } from './link.js';

export type ResolvableEvent = IdentitySource & {
  workspaceId: string;
  timestamp: number;
  messageId: string;
  seq: number;
};

export interface Resolution {
  /** The identifier the event is filed under (its highest-priority one); null when it has none. */
  primary: number | null;
  /** Identifiers interned by this event: rows for the identifier table. */
  created: number[];
  /** The link to append to the log, when there is one to append. */
  logged: Link | null;
}

/** One committed event through the identity graph. */
export function resolveEvent(graph: IdentityGraph, event: ResolvableEvent): Resolution {
  const found = identifiersOf(event, graph.rulesOf(event.workspaceId));
  if (found.length === 0) return { primary: null, created: [], logged: null };
  const ids: number[] = [];
  const created: number[] = [];
  for (const f of found) {
    const r = graph.intern(event.workspaceId, f.type, f.value);
    ids.push(r.id);
    if (r.created) created.push(r.id);
  }
  const { link, logged } = graph.observe(ids, {
    at: event.timestamp,
    messageId: event.messageId,
    seq: event.seq,
  });
  return { primary: ids[0] as number, created, logged: logged ? link : null };
}
