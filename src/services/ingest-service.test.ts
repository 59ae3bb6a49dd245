import { describe, expect, it } from 'vitest';
import type { EventLog, LogRecord } from './event-log.js';
import { IngestService, NO_OBSERVER } from './ingest-service.js';

/** An in-memory log: every append is durable at once. */
function memoryLog(): EventLog & { records: LogRecord[] } {
  const records: LogRecord[] = [];
  return {
    records,
    head: 0,
    tail: 0,
    append: async (rs) => {
      records.push(...rs);
    },
    onDurable: () => () => undefined,
    read: async () => undefined,
    readIds: async () => undefined,
    checkpoint: () => undefined,
    close: async () => undefined,
  };
}

async function collector() {
  const log = memoryLog();
  const clock = { now: () => Date.UTC(2025, 0, 1), sleep: async () => undefined };
  let n = 0;
  const ingest = new IngestService(log, clock, () => `gen-${++n}`, NO_OBSERVER, {
    dedupWindowMs: 86_400_000,
    maxPendingRows: 1_000,
  });
  await ingest.start({ storedMaxSeq: 0, suppressions: [], remember: async () => 0 });
  return { ingest, log };
}

const deepArray = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;

describe('IngestService with hostile nesting', () => {
  it('quarantines each deep batch item as itself and logs the good items beside it', async () => {
    const { ingest, log } = await collector();
    const badType = `{"type":${deepArray(5_000)},"userId":"u","event":"Bad"}`;
    const badItem = deepArray(50_000, '"x"');
    const rawBody = `{"batch":[{"type":"track","userId":"u","event":"Good"},${badType},${badItem}]}`;
    const { batch } = JSON.parse(rawBody) as { batch: unknown[] };

    const outcome = await ingest.ingest({
      workspaceId: 'w',
      requestId: 'r',
      ip: null,
      messages: batch,
      rawBody,
    });

    expect(outcome).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(outcome.failures.map((f) => [f.index, f.code, f.field])).toEqual([
      [1, 'nesting_too_deep', 'type'],
      [2, 'invalid_message', undefined],
    ]);
    const events = log.records.flatMap((r) => (r.kind === 'event' ? [r.event.event] : []));
    expect(events).toEqual(['Good']);
    const rows = log.records.flatMap((r) => (r.kind === 'quarantine' ? [r.row] : []));
    expect(rows.map((q) => [q.batchIndex, q.code, q.payload])).toEqual([
      [1, 'nesting_too_deep', badType],
      [2, 'invalid_message', badItem],
    ]);
  });

  it('answers a deeply nested single call with its own 4xx failure, the body kept as sent', async () => {
    const { ingest, log } = await collector();
    const rawBody = `{"userId":"u","event":"e","type":${deepArray(5_000)}}`;
    const outcome = await ingest.ingest({
      workspaceId: 'w',
      requestId: 'r',
      ip: null,
      messages: [JSON.parse(rawBody)],
      pathType: 'track',
      rawBody,
    });
    expect(outcome.failures).toMatchObject([{ index: 0, code: 'nesting_too_deep', field: 'type' }]);
    expect(log.records).toMatchObject([{ kind: 'quarantine', row: { batchIndex: null, payload: rawBody } }]);
  });
});
