import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../core/spec/message.js';
import { type Database, openDatabase } from './duckdb-database.js';
import { DuckDBEventStore } from './duckdb-event-store.js';

let db: Database;
let store: DuckDBEventStore;
beforeEach(async () => {
  const opened = await openDatabase(':memory:');
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
  store = new DuckDBEventStore(db.writer, db.reader);
});
afterEach(() => db.close());

const T = Date.UTC(2025, 5, 1);
const event = (seq: number, over: Partial<StoredEvent> = {}): StoredEvent => ({
  workspaceId: 'w1',
  seq,
  messageId: `m${seq}`,
  type: 'track',
  event: 'E',
  name: null,
  userId: 'u',
  anonymousId: null,
  groupId: null,
  previousId: null,
  timestamp: T + seq * 1000,
  originalTimestamp: T,
  sentAt: null,
  receivedAt: T + 5000,
  ip: '1.2.3.4',
  properties: '{"a":1}',
  traits: null,
  context: '{"locale":"de"}',
  integrations: null,
  extra: null,
  fingerprint: `fp${seq}`,
  ...over,
});

describe('DuckDBEventStore', () => {
  it('round-trips every field', async () => {
    const e = event(1, { sentAt: T + 1, traits: '{"t":"ü\\u0000"}', extra: '{"category":"c"}' });
    await store.commit({ events: [e], quarantine: [] });
    expect(await store.listEvents({ workspaceId: 'w1', limit: 10 })).toEqual([e]);
    expect(await store.maxSeq()).toBe(1);
  });

  it('commits events and quarantine rows together or not at all', async () => {
    const bad = event(2, { type: 'track', workspaceId: null as unknown as string }); // violates NOT NULL
    await expect(
      store.commit({
        events: [event(1), bad],
        quarantine: [
          {
            workspaceId: 'w1',
            receivedAt: T,
            requestId: 'r',
            batchIndex: 0,
            messageId: null,
            code: 'x',
            reason: 'y',
            field: null,
            payload: '{}',
          },
        ],
      }),
    ).rejects.toThrow();
    expect(await store.listEvents({ workspaceId: 'w1', limit: 10 })).toEqual([]);
    expect(await store.listQuarantine({ workspaceId: 'w1', limit: 10 })).toEqual([]);
    // The connection is usable again afterwards.
    await store.commit({ events: [event(3)], quarantine: [] });
    expect(await store.listEvents({ workspaceId: 'w1', limit: 10 })).toHaveLength(1);
  });

  it('orders newest first with seq breaking timestamp ties, and pages from a cursor', async () => {
    const same = T + 50_000;
    await store.commit({
      events: [event(1), event(2, { timestamp: same }), event(3, { timestamp: same }), event(4)],
      quarantine: [],
    });
    const all = await store.listEvents({ workspaceId: 'w1', limit: 10 });
    expect(all.map((e) => e.seq)).toEqual([3, 2, 4, 1]);
    const rest = await store.listEvents({ workspaceId: 'w1', limit: 10, after: { timestamp: same, seq: 3 } });
    expect(rest.map((e) => e.seq)).toEqual([2, 4, 1]);
  });

  it('never returns another workspace’s events', async () => {
    await store.commit({ events: [event(1), event(2, { workspaceId: 'w2' })], quarantine: [] });
    expect((await store.listEvents({ workspaceId: 'w2', limit: 10 })).map((e) => e.seq)).toEqual([2]);
  });

  it('streams fingerprints received since a time', async () => {
    await store.commit({ events: [event(1, { receivedAt: T - 10 }), event(2)], quarantine: [] });
    const seen: string[] = [];
    const n = await store.loadFingerprints(T, (ws, id, fp) => seen.push(`${ws}/${id}/${fp}`));
    expect(n).toBe(1);
    expect(seen).toEqual(['w1/m2/fp2']);
  });
});
