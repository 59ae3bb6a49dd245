import type { ErrorCode } from '../core/error-codes.js';
import { importLine } from '../core/spec/import-line.js';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { BulkLoader, BulkLoadResult, Clock } from './ports.js';

export interface ImportStats extends BulkLoadResult {
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
  /** Rows handed to the store at a time. */
  chunkRows?: number;
  onProgress?: (linesDone: number) => void;
  /** Whether a valid event may be stored (suppressed identifiers are not). */
  admit?: (event: StoredEvent) => boolean;
}

/**
 * Loads Segment-format NDJSON into the event store. Every line goes through the Tracking API's
 * validation and normalisation; bad lines are quarantined with their line number and reason;
 * the load commits all at once, so a failed import leaves nothing half-done and can be re-run
 * (deduplication makes re-runs harmless).
 */
export class ImportService {
  constructor(
    private readonly loader: BulkLoader,
    private readonly clock: Clock,
    private readonly newId: () => string,
  ) {}

  async importLines(lines: AsyncIterable<string[]>, options: ImportOptions): Promise<ImportStats> {
    let n = 0;
    async function* asRows(): AsyncGenerator<ImportRow[]> {
      for await (const batch of lines)
        yield batch.map((line) => ({ line: ++n, raw: line, messages: [line] }));
    }
    return this.importRows(asRows(), options);
  }

  /**
   * Loads rows of any source: each row (a line of the input, with its number) carries the
   * Segment messages it became, or the reason it could not become any. Bad rows and bad
   * messages are quarantined with their line number; the good ones beside them load.
   */
  async importRows(rows: AsyncIterable<ImportRow[]>, options: ImportOptions): Promise<ImportStats> {
    const load = await this.loader.begin(options.workspaceId, options.importId);
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
    let seq = load.firstSeq;
    let events: StoredEvent[] = [];
    let quarantine: QuarantinedMessage[] = [];
    try {
      const reject = (
        row: ImportRow,
        code: ErrorCode,
        message: string,
        field: string | null,
        messageId: string | null,
      ) => {
        stats.rejected++;
        stats.rejectedByCode[code] = (stats.rejectedByCode[code] ?? 0) + 1;
        if (stats.rejectedSample.length < 20) stats.rejectedSample.push(`line ${row.line}: ${message}`);
        quarantine.push({
          workspaceId: options.workspaceId,
          receivedAt: now,
          requestId: options.importId,
          batchIndex: row.line,
          messageId,
          code,
          reason: `line ${row.line}: ${message}`,
          field,
          payload: row.raw.length > 64_000 ? row.raw.slice(0, 64_000) : row.raw,
        });
      };
      for await (const batch of rows) {
        for (const row of batch) {
          stats.lines++;
          if ('error' in row) {
            reject(row, 'invalid_row', row.error.message, row.error.field, null);
            continue;
          }
          if (row.messages.length === 1 && (row.messages[0] as string).trim() === '') {
            stats.blankLines++;
            continue;
          }
          for (const line of row.messages) {
            const result = importLine(line, {
              workspaceId: options.workspaceId,
              seq,
              now,
              newMessageId: this.newId,
            });
            if (result.ok) {
              if (options.admit && !options.admit(result.value)) {
                stats.suppressed++;
                continue;
              }
              events.push(result.value);
              seq++;
              continue;
            }
            const e = result.error;
            reject({ ...row, raw: line }, e.code, e.message, e.field ?? null, e.messageId);
          }
        }
        if (events.length >= chunkRows) {
          await load.addEvents(events);
          events = [];
        }
        if (quarantine.length >= chunkRows) {
          await load.addQuarantine(quarantine);
          quarantine = [];
        }
        options.onProgress?.(stats.lines);
      }
      await load.addEvents(events);
      await load.addQuarantine(quarantine);
      const result = await load.finish();
      return { ...stats, ...result };
    } catch (e) {
      await load.abort().catch(() => undefined);
      throw e;
    }
  }
}
