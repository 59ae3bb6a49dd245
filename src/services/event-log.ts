import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/**
 * The ingest log: the durable, ordered record of everything the collector and imports accepted
 * (and quarantined). A `200` is sent once a request's records are in it; DuckDB, the identity
 * graph and every later consumer are derived from it. One partition here (a local segment log);
 * a distributed adapter (NATS JetStream) partitions by identity hash behind the same interface.
 */

/** Every record has a `seq`: its offset in the log, and for events the deterministic tie-break. */
export type LogRecord =
  | { kind: 'event'; seq: number; event: StoredEvent }
  | { kind: 'quarantine'; seq: number; row: QuarantinedMessage };

export interface EventLog {
  /** The highest seq durably in the log (0 when empty). */
  readonly head: number;
  /** The lowest seq still held (segments below every consumer's checkpoint are removed). */
  readonly tail: number;
  /**
   * Appends records (consecutive seqs, continuing `head`) and resolves once they are on disk.
   * Requests that arrive while a write is in flight share the next write and sync. On failure
   * nothing of the group is kept, and the log stays usable for later appends.
   */
  append(records: LogRecord[]): Promise<void>;
  /** Called with each durable group, in seq order, right after its sync. */
  onDurable(listener: (records: LogRecord[]) => void): () => void;
  /** Reads the durable records with seq > `after`, in order and in chunks, up to the head at call time. */
  read(after: number, onChunk: (records: LogRecord[]) => Promise<void> | void): Promise<void>;
  /**
   * (workspace, messageId, fingerprint) of the durable events after `after` (the deduplication
   * index's start-up load); may include some at or before `after`.
   */
  readIds(
    after: number,
    onId: (workspaceId: string, messageId: string, fingerprint: string) => void,
  ): Promise<void>;
  /**
   * Records a consumer's durable checkpoint: everything up to `seq` is done and will not be
   * read again. Segments below every registered consumer's checkpoint are removed.
   */
  checkpoint(consumer: string, seq: number): void;
  /** Waits for writes in flight, then releases files. */
  close(): Promise<void>;
}

/** A sealed stretch of the log that a bulk loader can take whole. */
export interface LogSegment {
  id: number;
  path: string;
  firstSeq: number;
  lastSeq: number;
  events: number;
  quarantined: number;
  bytes: number;
}

/** What a bulk loader (the DuckDB loader) needs beyond reading: whole segments, sealed on demand. */
export interface SegmentedLog extends EventLog {
  /** Closes the active segment (if it holds records) so it can be loaded whole. */
  seal(): Promise<void>;
  /** Sealed segments with records after `after`, oldest first; verified (checksums) on the way. */
  sealedAfter(after: number): LogSegment[];
  /**
   * Checks every record's checksum and returns the segment with its exact counts and last seq;
   * a bad record throws LogCorruptError naming the segment, the byte offset and the problem.
   */
  verify(segment: LogSegment): Promise<LogSegment>;
}

/** A log that cannot be read further: a corrupt record in the middle of a segment. */
export class LogCorruptError extends Error {
  constructor(
    readonly path: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${path} at byte ${offset}: ${reason}; loading of this segment stopped`);
    this.name = 'LogCorruptError';
  }
}

/**
 * The log could not make records durable (a full disk, an I/O error): nothing of the append was
 * acknowledged and a retry may succeed. Anything else an append rejects with is a fault.
 */
export class LogWriteError extends Error {
  constructor(cause: unknown) {
    super(`the ingest log could not be written: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'LogWriteError';
  }
}
