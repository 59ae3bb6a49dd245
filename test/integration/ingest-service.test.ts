import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { identifierHash } from '../../src/core/identity/person-id.js';
import { type LogRecord, LogWriteError } from '../../src/services/event-log.js';
import type { Suppression } from '../../src/services/identity-ports.js';
import { IngestService, NO_OBSERVER, receivedHistory } from '../../src/services/ingest-service.js';
import { type Consumer, ConsumerRunner } from '../../src/services/log-consumer.js';
import { LOADER, LogLoader } from '../../src/services/log-loader.js';
import { type Database, openDatabase } from '../../src/store/duckdb-database.js';
import { DuckDBEventStore } from '../../src/store/duckdb-event-store.js';
import { DuckDBLogLoadStore } from '../../src/store/duckdb-log-load-store.js';
import { encodeRecord } from '../../src/store/log-line.js';
import { type LogIo, SegmentLog } from '../../src/store/segment-log.js';
import { removeDir, tempDir } from '../support/servers.js';

const opened: Database[] = [];
const logs: SegmentLog[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const l of logs.splice(0)) await l.close().catch(() => undefined);
  for (const db of opened.splice(0)) db.close();
  for (const d of dirs.splice(0)) removeDir(d);
});

const sleep = (ms: number) => new Promise<void>((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms)));
const clockAt = (now = () => Date.UTC(2025, 0, 1)) => ({ now, sleep });

async function openLog(dir: string, io: Partial<LogIo> = {}, warn?: (m: string) => void) {
  const log = await SegmentLog.open({
    dir,
    consumers: [LOADER],
    io,
    ...(warn ? { warn: (m: string) => warn(m) } : {}),
  });
  logs.push(log);
  return log;
}

async function setup(
  options: { dir?: string; io?: Partial<LogIo>; db?: Database; suppressions?: Suppression[] } = {},
) {
  const dir = options.dir ?? tempDir();
  if (!options.dir) dirs.push(dir);
  let db = options.db;
  if (!db) {
    const o = await openDatabase(':memory:');
    if (!o.ok) throw new Error(o.error.message);
    opened.push(o.value);
    db = o.value;
  }
  const log = await openLog(dir, options.io);
  const store = new DuckDBEventStore(db.writer, db.reader);
  const loader = new LogLoader(log, new DuckDBLogLoadStore(db.writer), clockAt(), {
    minIntervalMs: 0,
    retryMs: 10,
  });
  let n = 0;
  const ingest = new IngestService(log, clockAt(), () => `gen-${++n}`, NO_OBSERVER, {
    dedupWindowMs: 7 * 86_400_000,
    maxPendingRows: 100_000,
  });
  const loadStore = new DuckDBLogLoadStore(db.writer);
  await ingest.start({
    storedMaxSeq: await store.maxSeq(),
    suppressions: options.suppressions ?? [],
    remember: receivedHistory(store, log, await loadStore.loadedSeq(), 0),
  });
  await loader.start();
  await loader.stop();
  return { db, dir, log, store, loader, ingest };
}

const req = (messages: unknown[]) => ({ workspaceId: 'w', requestId: 'r', ip: null, messages, rawBody: '' });

describe('ingest through the log, loaded into a real DuckDB', () => {
  it('stores each messageId once whatever the order and grouping of deliveries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 120 }),
        fc.integer({ min: 1, max: 7 }),
        async (ids, groupSize) => {
          const { store, ingest, loader } = await setup();
          const messages = ids.map((id) => ({
            type: 'track',
            userId: `u${id}`,
            event: 'E',
            messageId: `m${id}`,
          }));
          const groups: unknown[][] = [];
          for (let i = 0; i < messages.length; i += groupSize) groups.push(messages.slice(i, i + groupSize));
          // Concurrent requests share log writes in unpredictable ways.
          await Promise.all(groups.map((g) => ingest.ingest(req(g))));
          await loader.catchUp();
          const stored = await store.listEvents({ workspaceId: 'w', limit: 1000 });
          expect(stored.map((e) => e.messageId).sort()).toEqual(
            [...new Set(messages.map((m) => m.messageId))].sort(),
          );
          expect(new Set(stored.map((e) => e.seq)).size).toBe(stored.length);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('groups concurrent requests into shared writes and acknowledges every one', async () => {
    let writes = 0;
    const { store, ingest, loader } = await setup({
      io: {
        write: async (fh, data) => {
          writes++;
          await fh.write(data);
        },
      },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, r) =>
        ingest.ingest(
          req(Array.from({ length: 7 }, (_, i) => ({ type: 'page', anonymousId: `a${r}-${i}` }))),
        ),
      ),
    );
    expect(outcomes.every((o) => o.accepted === 7)).toBe(true);
    expect(writes).toBeLessThan(40);
    await loader.catchUp();
    expect(await store.listEvents({ workspaceId: 'w', limit: 1000 })).toHaveLength(280);
  });

  it('a failed write (ENOSPC) acknowledges nothing, cuts off its partial bytes, and recovers', async () => {
    let full = true;
    const { store, ingest, loader, log } = await setup({
      io: {
        write: async (fh, data) => {
          if (full) {
            // Half the group reaches the file, then the disk is full.
            await fh.write(data.subarray(0, data.length >> 1));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          }
          await fh.write(data);
        },
      },
    });
    const msg = { type: 'track', userId: 'u', event: 'E', messageId: 'retry-me' };
    // A LogWriteError: the edges answer it 503 + Retry-After (a retry may succeed), any other fault 500.
    const failed = ingest.ingest(req([msg]));
    await expect(failed).rejects.toThrow(/ENOSPC/);
    await expect(failed).rejects.toBeInstanceOf(LogWriteError);
    expect(log.head).toBe(0);
    full = false;
    const retry = await ingest.ingest(req([msg]));
    expect(retry).toMatchObject({ accepted: 1, duplicates: 0 });
    await loader.catchUp();
    const stored = await store.listEvents({ workspaceId: 'w', limit: 10 });
    expect(stored.map((e) => e.messageId)).toEqual(['retry-me']);
  });

  it('acknowledges a duplicate only once its original is durable, and fails it with the original', async () => {
    let release: () => void = () => undefined;
    let failSync = false;
    const { ingest } = await setup({
      io: {
        sync: async (fh) => {
          await new Promise<void>((r) => {
            release = r;
          });
          if (failSync) throw new Error('EIO: sync failed');
          await fh.datasync();
        },
      },
    });
    const batch = Array.from({ length: 50 }, (_, i) => ({
      type: 'track',
      userId: 'u',
      event: 'E',
      messageId: `b${i}`,
    }));
    let originalDone = false;
    let retryDone = false;
    const original = ingest.ingest(req(batch)).then(() => {
      originalDone = true;
    });
    await sleep(5);
    const retry = ingest.ingest(req([batch[7]])).then((o) => {
      retryDone = true;
      return o;
    });
    await sleep(20);
    expect(originalDone).toBe(false);
    expect(retryDone).toBe(false);
    release();
    await original;
    expect(await retry).toMatchObject({ accepted: 0, duplicates: 1 });

    // Now the original's write fails: its retry, in flight beside it, fails with it.
    failSync = true;
    const second = ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'x' }]));
    await sleep(5);
    const secondRetry = ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'x' }]));
    await sleep(5);
    release();
    await expect(second).rejects.toThrow(/EIO/);
    await expect(secondRetry).rejects.toThrow(/EIO/);
    failSync = false;
    const third = ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'x' }]));
    await sleep(5);
    release();
    expect(await third).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('drops the messages of suppressed identifiers at the collector, before the log', async () => {
    const { ingest, log } = await setup({
      suppressions: [{ workspaceId: 'w', type: 'user_id', valueHash: identifierHash('user_id', 'gone') }],
    });
    const r = await ingest.ingest(
      req([
        { type: 'track', userId: 'gone', event: 'E' },
        { type: 'track', userId: 'kept', event: 'E' },
      ]),
    );
    expect(r).toMatchObject({ accepted: 1, suppressed: 1 });
    expect(log.head).toBe(1);
    ingest.suppress([{ workspaceId: 'w', type: 'user_id', valueHash: identifierHash('user_id', 'kept') }]);
    expect(await ingest.ingest(req([{ type: 'track', userId: 'kept', event: 'E' }]))).toMatchObject({
      accepted: 0,
      suppressed: 1,
    });
  });

  it('restores the sequence and the dedup window on restart, from the log and the store', async () => {
    const first = await setup();
    await first.ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'loaded' }]));
    await first.loader.catchUp();
    await first.ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'only-logged' }]));
    await first.log.close();
    const again = await setup({ dir: first.dir, db: first.db });
    expect(again.ingest.lastSeq).toBe(2);
    const r = await again.ingest.ingest(
      req([
        { type: 'track', userId: 'u', event: 'E', messageId: 'loaded' },
        { type: 'track', userId: 'u', event: 'E', messageId: 'only-logged' },
      ]),
    );
    // The restarted collector remembers the loaded id and the one only logged.
    expect(r).toMatchObject({ accepted: 0, duplicates: 2 });
    await again.loader.catchUp();
    const stored = await again.store.listEvents({ workspaceId: 'w', limit: 10 });
    expect(stored.map((e) => e.messageId).sort()).toEqual(['loaded', 'only-logged']);
  });
});

describe('the segment log after a crash', () => {
  it('discards a torn last record with a warning and never loads it', async () => {
    const first = await setup();
    await first.ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'good' }]));
    await first.log.close();
    const segment = join(first.dir, readdirSync(first.dir).find((n) => n.endsWith('.seg')) as string);
    // A partial write: one complete record (checksum good, but not the end of its write), then a torn one.
    const whole = encodeRecord({
      kind: 'quarantine',
      seq: 2,
      row: {
        workspaceId: 'w',
        receivedAt: 0,
        requestId: 'r',
        batchIndex: 0,
        messageId: null,
        code: 'invalid_body',
        reason: 'x',
        field: null,
        payload: 'partial-write',
      },
    });
    appendFileSync(segment, `${whole}{"k":"e","w":"w","s":3,"m":"torn","t":"track"`);
    const warnings: string[] = [];
    const log = await openLog(first.dir, {}, (m) => warnings.push(m));
    expect(warnings.join()).toMatch(/torn/);
    expect(log.head).toBe(1);
    expect(readFileSync(segment, 'utf8')).not.toContain('torn');
    expect(readFileSync(segment, 'utf8')).not.toContain('partial-write');
    expect(readdirSync(first.dir).some((n) => n.includes('.torn-'))).toBe(true);
  });

  it('after a restart, stops loading at a corrupt record in the middle of a segment, with a clear error', async () => {
    const first = await setup();
    await first.ingest.ingest(
      req(
        Array.from({ length: 3 }, (_, i) => ({ type: 'track', userId: 'u', event: 'E', messageId: `c${i}` })),
      ),
    );
    await first.ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: 'later' }]));
    await first.log.close();
    const segment = join(first.dir, readdirSync(first.dir).find((n) => n.endsWith('.seg')) as string);
    // Flip a value in the second record at rest: still valid JSON, but its checksum no longer holds.
    const text = readFileSync(segment, 'utf8');
    writeFileSync(segment, text.replace('"m":"c1"', '"m":"cX"'));
    const again = await setup({ dir: first.dir, db: first.db });
    await expect(again.loader.catchUp()).rejects.toThrow(
      /checksum mismatch; loading of this segment stopped/,
    );
    expect(again.loader.corruptSegments).toBe(1);
    expect(again.loader.problem).toMatch(/0000000000000001\.seg at byte \d+: checksum mismatch/);
    expect(await again.store.listEvents({ workspaceId: 'w', limit: 10 })).toHaveLength(0);
  });
});

describe('listeners of the log', () => {
  it('a throwing listener is reported and stops neither the others nor later writes', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const reported: string[] = [];
    const log = await SegmentLog.open({
      dir,
      consumers: [],
      onError: (e) => reported.push(e.message),
    });
    logs.push(log);
    const seen: number[] = [];
    log.onDurable(() => {
      throw new Error('listener broke');
    });
    log.onDurable((records) => seen.push(...records.map((r) => r.seq)));
    const row = (seq: number): LogRecord => ({
      kind: 'quarantine',
      seq,
      row: {
        workspaceId: 'w',
        receivedAt: 0,
        requestId: 'r',
        batchIndex: null,
        messageId: null,
        code: 'invalid_body',
        reason: 'x',
        field: null,
        payload: 'p',
      },
    });
    await log.append([row(1)]);
    await log.append([row(2)]);
    expect(seen).toEqual([1, 2]);
    expect(reported).toEqual(['listener broke', 'listener broke']);
    expect(log.head).toBe(2);
  });
});

describe('a log consumer', () => {
  it('stalls at a failing record, reports it, retries from there and skips nothing', async () => {
    const { ingest, log } = await setup();
    const seen: number[] = [];
    let failuresLeft = 2;
    let position = 0;
    const consumer: Consumer = {
      name: 'probe',
      get position() {
        return position;
      },
      handle(records: LogRecord[]) {
        for (const r of records) {
          if (r.seq <= position) continue;
          if (r.kind === 'event' && r.event.messageId === 'm5' && failuresLeft > 0) {
            failuresLeft--;
            throw new Error('injected failure');
          }
          seen.push(r.seq);
          position = r.seq;
        }
      },
    };
    const errors: string[] = [];
    const runner = new ConsumerRunner(log, consumer, clockAt(), {
      retryMs: 5,
      onError: (_name, e) => errors.push(e.message),
    });
    runner.start();
    await runner.caughtUp();
    for (let i = 0; i < 10; i++)
      await ingest.ingest(req([{ type: 'track', userId: 'u', event: 'E', messageId: `m${i}` }]));
    for (let i = 0; i < 200 && seen.length < 10; i++) await sleep(5);
    runner.stop();
    expect(errors).toEqual(['injected failure', 'injected failure']);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(runner.failures).toBe(2);
  });
});
