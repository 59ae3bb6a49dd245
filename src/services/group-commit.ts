import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { Clock, CommitBatch, EventStore } from './ports.js';

interface Waiter {
  events: StoredEvent[];
  quarantine: QuarantinedMessage[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface GroupCommitOptions {
  /** Upper bound on rows per commit, so one commit's JSON stays small and its latency bounded. */
  maxRowsPerCommit: number;
  /**
   * In a busy period, commits start at least this far apart (like PostgreSQL's commit_delay):
   * each DuckDB transaction costs ~0.5 ms of CPU whatever its size, so under load it pays to
   * let a group grow. A request arriving when the store is idle still commits at once.
   */
  minCommitIntervalMs: number;
}

export type CommitListener = (events: StoredEvent[], info: { rows: number; seconds: number }) => void;

/**
 * Group commit: requests arriving while one commit is in flight (or within the minimum interval
 * after the previous one started) share the next commit, so under load one durable DuckDB commit
 * acknowledges many requests, while a request reaching an idle store commits at once.
 */
export class GroupCommit {
  private queue: Waiter[] = [];
  private queuedRows = 0;
  private flushing: Promise<void> | null = null;
  private lastCommitStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: EventStore,
    private readonly clock: Clock,
    private readonly options: GroupCommitOptions,
    private readonly onCommitted: CommitListener,
  ) {}

  /** Rows accepted but not yet durable: the back-pressure signal. */
  get pendingRows(): number {
    return this.queuedRows;
  }

  /** Resolves once every row is committed; rejects if that commit failed (nothing of it was stored). */
  submit(events: StoredEvent[], quarantine: QuarantinedMessage[]): Promise<void> {
    if (events.length === 0 && quarantine.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ events, quarantine, resolve, reject });
      this.queuedRows += events.length + quarantine.length;
      this.flushing ??= this.flushLoop();
    });
  }

  /** Waits until everything submitted so far is committed (for shutdown). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Let requests already waiting on their sockets, and in a busy period those of the next
        // few milliseconds, join this group.
        const linger = this.lastCommitStart + this.options.minCommitIntervalMs - this.clock.now();
        if (this.queuedRows < this.options.maxRowsPerCommit) await this.clock.sleep(Math.max(0, linger));
        const group = this.takeGroup();
        const batch: CommitBatch = { events: [], quarantine: [] };
        for (const w of group) {
          for (const e of w.events) batch.events.push(e);
          for (const q of w.quarantine) batch.quarantine.push(q);
        }
        const rows = batch.events.length + batch.quarantine.length;
        const started = this.clock.now();
        this.lastCommitStart = started;
        try {
          await this.store.commit(batch);
        } catch (e) {
          this.queuedRows -= rows;
          for (const w of group) w.reject(e);
          continue;
        }
        this.queuedRows -= rows;
        for (const w of group) w.resolve();
        try {
          this.onCommitted(batch.events, { rows, seconds: (this.clock.now() - started) / 1000 });
        } catch {
          // A failing listener (e.g. a live stream) must not stop the commits of everyone else.
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** Whole requests, in arrival order, up to the row cap (always at least one). */
  private takeGroup(): Waiter[] {
    let rows = 0;
    let n = 0;
    while (n < this.queue.length) {
      const w = this.queue[n]!;
      const size = w.events.length + w.quarantine.length;
      if (n > 0 && rows + size > this.options.maxRowsPerCommit) break;
      rows += size;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
