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
    const load = await this.loader.begin(options.workspaceId, options.importId);
    const now = this.clock.now();
    const chunkRows = options.chunkRows ?? 20_000;
    const stats: ImportStats = {
      lines: 0,
      blankLines: 0,
      rejected: 0,
      rejectedByCode: {},
      suppressed: 0,
      inserted: 0,
      duplicates: 0,
      conflicts: 0,
    };
    let seq = load.firstSeq;
    let events: StoredEvent[] = [];
    let quarantine: QuarantinedMessage[] = [];
    try {
      for await (const batch of lines) {
        for (const line of batch) {
          stats.lines++;
          if (line.trim() === '') {
            stats.blankLines++;
            continue;
          }
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
          stats.rejected++;
          stats.rejectedByCode[e.code] = (stats.rejectedByCode[e.code] ?? 0) + 1;
          quarantine.push({
            workspaceId: options.workspaceId,
            receivedAt: now,
            requestId: options.importId,
            batchIndex: stats.lines,
            messageId: e.messageId,
            code: e.code,
            reason: `line ${stats.lines}: ${e.message}`,
            field: e.field ?? null,
            payload: line.length > 64_000 ? line.slice(0, 64_000) : line,
          });
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
