import { err, ok, type Result } from '../core/result.js';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { EventCursor, EventQuery, EventStore } from './ports.js';

/** A client's query: the store's, with an opaque cursor instead of a position. */
export type EventFilter = Omit<EventQuery, 'workspaceId' | 'after'> & { cursor?: string };

export interface EventPage {
  events: StoredEvent[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Opaque to clients: the (timestamp, seq) of the last event on a page. */
export const encodeCursor = (c: EventCursor): string =>
  Buffer.from(JSON.stringify([c.timestamp, c.seq])).toString('base64url');

export function decodeCursor(s: string): Result<EventCursor, string> {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x))) {
      return ok({ timestamp: v[0] as number, seq: v[1] as number });
    }
  } catch {
    // fall through to the error below
  }
  return err('cursor is not one this server issued');
}

export class EventQueryService {
  constructor(
    private readonly store: EventStore,
    /** Waits until the store holds what was acknowledged before the query (the loader's position). */
    private readonly fresh: () => Promise<void> = async () => undefined,
  ) {}

  async list(workspaceId: string, f: EventFilter): Promise<Result<EventPage, string>> {
    let after: EventCursor | undefined;
    if (f.cursor !== undefined) {
      const c = decodeCursor(f.cursor);
      if (!c.ok) return c;
      after = c.value;
    }
    const { cursor: _ignored, ...filter } = f;
    await this.fresh();
    const events = await this.store.listEvents({ ...filter, workspaceId, ...(after ? { after } : {}) });
    const last = events[events.length - 1];
    const nextCursor =
      events.length === f.limit && last ? encodeCursor({ timestamp: last.timestamp, seq: last.seq }) : null;
    return ok({ events, nextCursor });
  }

  async quarantine(
    workspaceId: string,
    code: string | undefined,
    limit: number,
  ): Promise<QuarantinedMessage[]> {
    await this.fresh();
    return this.store.listQuarantine({ workspaceId, limit, ...(code ? { code } : {}) });
  }
}
