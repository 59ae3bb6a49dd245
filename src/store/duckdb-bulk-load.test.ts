import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoredEvent } from '../core/spec/message.js';
import { DuckDBBulkLoader } from './duckdb-bulk-load.js';
import { type Database, openDatabase } from './duckdb-database.js';
import { DuckDBEventStore } from './duckdb-event-store.js';

let db: Database;
let store: DuckDBEventStore;
let loader: DuckDBBulkLoader;
let spool: string;
beforeEach(async () => {
  const opened = await openDatabase(':memory:');
  if (!opened.ok) throw new Error(opened.error.message);
  db = opened.value;
  store = new DuckDBEventStore(db.writer, db.reader);
  spool = mkdtempSync(join(tmpdir(), 'bulk-test-'));
  loader = new DuckDBBulkLoader(db.writer, spool);
});
afterEach(() => {
  db.close();
  rmSync(spool, { recursive: true, force: true });
});

const T = Date.UTC(2025, 5, 1);
const event = (seq: number, messageId: string, fingerprint: string): StoredEvent => ({
  workspaceId: 'w1',
  seq,
  messageId,
  type: 'track',
  event: 'E',
  name: null,
  userId: 'u',
  anonymousId: null,
  groupId: null,
  previousId: null,
  timestamp: T + seq,
  originalTimestamp: T,
  sentAt: null,
  receivedAt: T,
  ip: null,
  properties: '{"n":1}',
  traits: null,
  context: null,
  integrations: null,
  extra: null,
  fingerprint,
});

const count = async (sql: string) => Number((await db.reader.runAndReadAll(sql)).getRowsJS()[0]?.[0]);

describe('DuckDBBulkLoader', () => {
  it('keeps first copies, skips exact repeats, quarantines reused ids, against the load and the store', async () => {
    await store.commit({
      events: [event(1, 'stored-same', 'A'), event(2, 'stored-other', 'B')],
      quarantine: [],
    });
    const load = await loader.begin('w1', 'imp-1');
    expect(load.firstSeq).toBe(3);
    await load.addEvents([
      event(3, 'new-1', 'X'),
      event(4, 'new-1', 'X'), // exact repeat inside the file
      event(5, 'new-2', 'Y'),
      event(6, 'new-2', 'Z'), // same id, other payload
      event(7, 'stored-same', 'A'), // already stored, same payload
      event(8, 'stored-other', 'C'), // already stored, other payload
    ]);
    await load.addQuarantine([
      {
        workspaceId: 'w1',
        receivedAt: T,
        requestId: 'imp-1',
        batchIndex: 9,
        messageId: null,
        code: 'invalid_json',
        reason: 'line 9: not JSON',
        field: null,
        payload: '{oops',
      },
    ]);
    expect(await load.finish()).toEqual({ inserted: 2, duplicates: 2, conflicts: 2 });
    expect(await count("SELECT count(*) FROM events WHERE message_id IN ('new-1', 'new-2')")).toBe(2);
    expect(await count("SELECT min(seq) FROM events WHERE message_id = 'new-2'")).toBe(5);
    expect(await count("SELECT count(*) FROM quarantine WHERE code = 'conflicting_duplicate'")).toBe(2);
    expect(
      await count("SELECT count(*) FROM quarantine WHERE code = 'invalid_json' AND batch_index = 9"),
    ).toBe(1);
    expect(readdirSync(spool)).toEqual([]);
  });

  it('stores nothing when aborted, and cleans its spool', async () => {
    const load = await loader.begin('w1', 'imp-2');
    await load.addEvents(Array.from({ length: 100 }, (_, i) => event(load.firstSeq + i, `m${i}`, 'F')));
    await load.abort();
    expect(await count('SELECT count(*) FROM events')).toBe(0);
    expect(readdirSync(spool)).toEqual([]);
  });

  it('deduplicates per workspace: the same id in another workspace is new', async () => {
    await store.commit({ events: [{ ...event(1, 'shared', 'A'), workspaceId: 'w2' }], quarantine: [] });
    const load = await loader.begin('w1', 'imp-3');
    await load.addEvents([event(2, 'shared', 'B')]);
    expect(await load.finish()).toEqual({ inserted: 1, duplicates: 0, conflicts: 0 });
  });
});
