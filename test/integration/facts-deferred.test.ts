import { afterEach, describe, expect, it } from 'vitest';
import { importLine } from '../../src/core/spec/import-line.js';
import type { LogRecord } from '../../src/services/event-log.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

/**
 * Deferred facts (what the server does under a stream of small loads): the events are stored at
 * once, their facts a batch at a time — when enough seqs wait, when the oldest has waited long
 * enough, or when a reader flushes them — and never lost across a restart.
 */

const NOW = Date.UTC(2030, 0, 1);
const dirs: string[] = [];
const dbs: Database[] = [];
afterEach(() => {
  for (const db of dbs.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

let now = NOW;
const clock = { now: () => now, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };

async function setup() {
  const dir = tempDir();
  dirs.push(dir);
  const o = await openDatabase(dir, { threads: 1 });
  if (!o.ok) throw new Error(o.error.message);
  dbs.push(o.value);
  const db = o.value;
  const log = await SegmentLog.open({ dir: `${dir}/log`, consumers: [LOADER] });
  const store = new DuckDBLogLoadStore(db.writer, {
    deferFacts: { seqs: 10, maxDelayMs: 5_000, now: clock.now },
  });
  const loader = new LogLoader(log, store, clock, { minIntervalMs: 0, retryMs: 0 });
  let seq = 0;
  const append = async (n: number) => {
    const records: LogRecord[] = [];
    for (let i = 0; i < n; i++) {
      const r = importLine(
        JSON.stringify({
          type: 'page',
          anonymousId: `a${seq}`,
          context: { page: { url: `https://x.example/?utm_source=s${seq}` } },
        }),
        { workspaceId: 'w', seq: seq + 1, now: NOW, newMessageId: () => `m${seq + 1}` },
      );
      if (!r.ok) throw new Error(r.error.message);
      seq++;
      records.push({ kind: 'event', seq, event: r.value });
    }
    await log.append(records);
    await loader.catchUp();
  };
  const counts = async () => {
    const r = (
      await db.reader.runAndReadAll(
        'SELECT (SELECT count(*) FROM events)::INT, (SELECT count(*) FROM event_facts)::INT',
      )
    ).getRowsJS()[0] as [number, number];
    return { events: r[0], facts: r[1] };
  };
  // What the loader's start does, without its background loop (the test loads with catchUp).
  await store.loadedSeq();
  return { db, dir, log, store, loader, append, counts };
}

describe('deferred facts', () => {
  it('wait for a batch, or for time, and are flushed on demand', async () => {
    const s = await setup();
    await s.append(3);
    expect(await s.counts()).toEqual({ events: 3, facts: 0 });
    expect(s.store.factsPosition).toBe(0);
    await s.append(3);
    expect(await s.counts()).toEqual({ events: 6, facts: 0 });
    // Ten seqs waiting: the next load extracts them all.
    await s.append(4);
    expect(await s.counts()).toEqual({ events: 10, facts: 10 });
    expect(s.store.factsPosition).toBe(10);
    // A small load waits; once the oldest has waited long enough, the next load takes it along.
    await s.append(1);
    expect((await s.counts()).facts).toBe(10);
    now += 5_000;
    await s.append(1);
    expect(await s.counts()).toEqual({ events: 12, facts: 12 });
    // A reader that needs them all flushes; one that only wants the old ones does not.
    await s.append(2);
    await s.store.flushFacts({ olderThanMs: 60_000 });
    expect((await s.counts()).facts).toBe(12);
    await s.store.flushFacts();
    expect(await s.counts()).toEqual({ events: 14, facts: 14 });
    expect(s.store.factsPosition).toBe(14);
    const utm = (
      await s.db.reader.runAndReadAll('SELECT utm_source FROM event_facts WHERE seq = 13')
    ).getRowsJS()[0]?.[0];
    expect(utm).toBe('s12');
    await s.log.close();
  });

  it('left behind by a stop are extracted at the next start', async () => {
    const s = await setup();
    await s.append(3);
    await s.log.close();
    expect(await s.counts()).toEqual({ events: 3, facts: 0 });
    const again = new DuckDBLogLoadStore(s.db.writer);
    await again.loadedSeq();
    expect(await s.counts()).toEqual({ events: 3, facts: 3 });
    expect(again.factsPosition).toBe(3);
  });
});
