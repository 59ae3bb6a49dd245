import type { ErrorCode } from '../core/error-codes.js';
import { importLine } from '../core/spec/import-line.js';
import type { LogRecord } from './event-log.js';
import type { IngestService } from './ingest-service.js';
import type { Clock } from './ports.js';

/** What an import did with its rows. */
export interface ImportStats {
  /** Events appended to the log (new messageIds). */
  inserted: number;
  /** Exact repeats of a message already received or earlier in the import. */
  duplicates: number;
  /** Reused messageIds with a different payload: quarantined as `conflicting_duplicate`. */
  conflicts: number;
  lines: number;
  /** Blank lines are skipped, and counted so nothing goes unaccounted for. */
  blankLines: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Valid lines dropped because they carry an identifier of a deleted, suppressed person. */
  suppressed: number;
  /** The first few rejections, `line N: reason`, for the report (all are in quarantine). */
  rejectedSample: string[];
}

/** One input row: the messages it became, or why it could not become any. */
export type ImportRow =
  | { line: number; raw: string; messages: string[] }
  | { line: number; raw: string; error: { field: string | null; message: string } };

/** NDJSON lines as import rows: each line one message. */
export async function* linesAsRows(lines: AsyncIterable<string[]>): AsyncGenerator<ImportRow[]> {
  let n = 0;
  for await (const batch of lines) yield batch.map((line) => ({ line: ++n, raw: line, messages: [line] }));
}

export interface ImportOptions {
  workspaceId: string;
  importId: string;
  /** Records appended to the log at a time (one write and sync each). */
  chunkRows?: number;
  onProgress?: (linesDone: number) => void;
}

/** The collector's steps an import shares with the Tracking API (IngestService). */
export type Collector = Pick<
  IngestService,
  'nextSeq' | 'dedupe' | 'appendRecords' | 'rememberAll' | 'admits' | 'hold' | 'release'
>;

/** Every id a workspace's store holds, for deduplicating imports of old data. */
export type StoredIds = (
  workspaceId: string,
) => (onId: (workspaceId: string, messageId: string, fingerprint: string) => void) => Promise<number>;

/** Seqs are given when a chunk is appended, so live traffic between chunks keeps the log in order. */
const UNNUMBERED = 0;

/**
 * Imports rows through the same validation, normalisation, deduplication and ingest log as the
 * Tracking API: bad rows are quarantined with their line number and reason, the good ones
 * beside them are logged, and the loader moves them into DuckDB. Chunks are appended as they
 * are ready, so memory stays flat whatever the file's size; re-running an import stores
 * nothing twice (deduplication).
 */
export class ImportService {
  constructor(
    private readonly collector: Collector,
    private readonly clock: Clock,
    private readonly newId: () => string,
    private readonly storedIds?: StoredIds,
  ) {}

  async importLines(lines: AsyncIterable<string[]>, options: ImportOptions): Promise<ImportStats> {
    return this.importRows(linesAsRows(lines), options);
  }

  /**
   * Imports rows of any source: each row (a line of the input, with its number) carries the
   * Segment messages it became, or the reason it could not become any.
   */
  async importRows(rows: AsyncIterable<ImportRow[]>, options: ImportOptions): Promise<ImportStats> {
    const c = this.collector;
    if (this.storedIds) await c.rememberAll(options.workspaceId, this.storedIds(options.workspaceId));
    const now = this.clock.now();
    const chunkRows = options.chunkRows ?? 20_000;
    const stats: ImportStats = {
      lines: 0,
      blankLines: 0,
      rejected: 0,
      rejectedByCode: {},
      suppressed: 0,
      rejectedSample: [],
      inserted: 0,
      duplicates: 0,
      conflicts: 0,
    };
    let records: LogRecord[] = [];
    let newIds: string[] = [];
    const waits: Promise<void>[] = [];
    const reject = (
      seq: number,
      line: number,
      raw: string,
      code: ErrorCode,
      message: string,
      field: string | null,
      messageId: string | null,
    ) => {
      // Conflicting ids are counted apart from bad lines, as the Tracking API reports them.
      if (code !== 'conflicting_duplicate') {
        stats.rejected++;
        stats.rejectedByCode[code] = (stats.rejectedByCode[code] ?? 0) + 1;
        if (stats.rejectedSample.length < 20) stats.rejectedSample.push(`line ${line}: ${message}`);
      }
      records.push({
        kind: 'quarantine',
        seq,
        row: {
          workspaceId: options.workspaceId,
          receivedAt: now,
          requestId: options.importId,
          batchIndex: line,
          messageId,
          code,
          reason: `line ${line}: ${message}`,
          field,
          payload: raw.length > 64_000 ? raw.slice(0, 64_000) : raw,
        },
      });
    };
    // One chunk is written and synced while the next is parsed; memory holds at most two. The
    // ids of the chunk being built are held: a live retry of one waits for the chunk's write.
    let inFlight: Promise<void> = Promise.resolve();
    let chunk = deferred();
    const flush = async () => {
      for (const r of records) {
        r.seq = c.nextSeq();
        if (r.kind === 'event') r.event.seq = r.seq;
      }
      const appending = c.appendRecords(options.workspaceId, records, newIds);
      appending.then(chunk.resolve, chunk.reject);
      chunk = deferred();
      records = [];
      newIds = [];
      await inFlight;
      inFlight = appending;
    };
    try {
      for await (const batch of rows) {
        for (const row of batch) {
          stats.lines++;
          if ('error' in row) {
            reject(UNNUMBERED, row.line, row.raw, 'invalid_row', row.error.message, row.error.field, null);
            continue;
          }
          if (row.messages.length === 1 && (row.messages[0] as string).trim() === '') {
            stats.blankLines++;
            continue;
          }
          for (const line of row.messages) {
            const seq = c.nextSeq();
            const result = importLine(line, {
              workspaceId: options.workspaceId,
              seq,
              now,
              newMessageId: this.newId,
            });
            if (!result.ok) {
              const e = result.error;
              reject(seq, row.line, line, e.code, e.message, e.field ?? null, e.messageId);
              continue;
            }
            const event = result.value;
            if (!c.admits(event)) {
              stats.suppressed++;
              continue;
            }
            const { verdict, original } = c.dedupe(event);
            if (verdict === 'duplicate') {
              stats.duplicates++;
              if (original) waits.push(original);
              continue;
            }
            if (verdict === 'conflict') {
              stats.conflicts++;
              reject(
                seq,
                row.line,
                line,
                'conflicting_duplicate',
                `messageId ${JSON.stringify(event.messageId)} was already received with a different payload`,
                'messageId',
                event.messageId,
              );
              continue;
            }
            newIds.push(event.messageId);
            c.hold(options.workspaceId, event.messageId, chunk.promise);
            records.push({ kind: 'event', seq, event });
            stats.inserted++;
          }
        }
        if (records.length >= chunkRows) await flush();
        options.onProgress?.(stats.lines);
      }
      await flush();
      await inFlight;
    } catch (e) {
      // The rows not appended are not stored: their ids must not count as received.
      c.release(options.workspaceId, newIds);
      chunk.reject(e);
      throw e;
    }
    await Promise.all(waits);
    return stats;
  }
}

/** A promise with its settlers; its rejection is handled where it is awaited, if anywhere. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve: () => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
