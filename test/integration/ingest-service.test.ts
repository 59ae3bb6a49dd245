import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type IngestObserver, IngestService } from '../../src/services/ingest-service.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBEventStore } from '../../src/store/duckdb-event-store.js';

const silent: IngestObserver = {
  received: () => undefined,
  accepted: () => undefined,
  rejected: () => undefined,
  deduplicated: () => undefined,
  suppressed: () => undefined,
  conflicting: () => undefined,
  committed: () => undefined,
};

const opened: Database[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
});

async function setup(now = () => Date.UTC(2025, 0, 1)) {
  const o = await openDatabase(':memory:');
  if (!o.ok) throw new Error(o.error.message);
  opened.push(o.value);
  const store = new DuckDBEventStore(o.value.writer, o.value.reader);
  let n = 0;
  const ingest = new IngestService(store, { now, sleep }, () => `gen-${++n}`, silent, {
    dedupWindowMs: 7 * 86_400_000,
    maxRowsPerCommit: 50,
    minCommitIntervalMs: 1,
    maxPendingRows: 100_000,
  });
  await ingest.start();
  return { db: o.value, store, ingest };
}

const sleep = (ms: number) => new Promise<void>((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms)));

const req = (messages: unknown[]) => ({ workspaceId: 'w', requestId: 'r', ip: null, messages, rawBody: '' });

describe('IngestService with a real DuckDB', () => {
  it('stores each messageId once whatever the order and grouping of deliveries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 7 }),
        async (ids, groupSize) => {
          const { store, ingest } = await setup();
          const messages = ids.map((id) => ({
            type: 'track',
            userId: `u${id}`,
            event: 'E',
            messageId: `m${id}`,
          }));
          const groups: unknown[][] = [];
          for (let i = 0; i < messages.length; i += groupSize) groups.push(messages.slice(i, i + groupSize));
          // Concurrent requests: they share group commits in unpredictable ways.
          await Promise.all(groups.map((g) => ingest.ingest(req(g))));
          const stored = await store.listEvents({ workspaceId: 'w', limit: 1000 });
          const storedIds = stored.map((e) => e.messageId).sort();
          expect(storedIds).toEqual([...new Set(messages.map((m) => m.messageId))].sort());
          // Sequence numbers are unique: the deterministic tie-break holds.
          expect(new Set(stored.map((e) => e.seq)).size).toBe(stored.length);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('splits large backlogs into several commits and acknowledges every request', async () => {
    const { store, ingest } = await setup();
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, r) =>
        ingest.ingest(
          req(Array.from({ length: 7 }, (_, i) => ({ type: 'page', anonymousId: `a${r}-${i}` }))),
        ),
      ),
    );
    expect(outcomes.every((o) => o.accepted === 7)).toBe(true);
    expect(await store.listEvents({ workspaceId: 'w', limit: 1000 })).toHaveLength(280);
  });

  it('when a commit fails nothing is acknowledged, and the retry is not taken for a duplicate', async () => {
    const { db, store, ingest } = await setup();
    const msg = { type: 'track', userId: 'u', event: 'E', messageId: 'retry-me' };
    // A real storage failure: the table vanishes (its index would forbid the rename).
    await db.writer.run('DROP INDEX events_seq');
    await db.writer.run('ALTER TABLE events RENAME TO events_away');
    await expect(ingest.ingest(req([msg]))).rejects.toThrow();
    await db.writer.run('ALTER TABLE events_away RENAME TO events');
    const retry = await ingest.ingest(req([msg]));
    expect(retry).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await store.listEvents({ workspaceId: 'w', limit: 10 })).toHaveLength(1);
  });

  it('restores the sequence and the dedup window on start', async () => {
    const { store, ingest } = await setup();
    await ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'known' }]));
    const restarted = new IngestService(
      store,
      { now: () => Date.UTC(2025, 0, 2), sleep },
      () => 'x',
      silent,
      {
        dedupWindowMs: 7 * 86_400_000,
        maxRowsPerCommit: 50,
        minCommitIntervalMs: 1,
        maxPendingRows: 100_000,
      },
    );
    expect(await restarted.start()).toEqual({ seq: 1, remembered: 1 });
    const again = await restarted.ingest(
      req([{ type: 'track', userId: 'u', event: 'E', messageId: 'known' }]),
    );
    expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
  });
});
