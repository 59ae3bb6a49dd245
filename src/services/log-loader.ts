import { LogCorruptError, type LogSegment, type SegmentedLog } from './event-log.js';
import type { Clock } from './ports.js';
import { PositionWaiters } from './position-waiters.js';

/** Where the loader puts logged rows: the analytical store (DuckDB), exactly once. */
export interface LogLoadStore {
  /** The last seq loaded (0 for none); older databases count what they already hold. */
  loadedSeq(): Promise<number>;
  /**
   * Loads the segment's records with seq > `after` and records `segment.lastSeq` as loaded, in
   * one transaction: a crash leaves either all of it loaded and recorded, or none of it.
   */
  loadSegment(segment: LogSegment, after: number): Promise<void>;
}

export interface LoaderOptions {
  /** Under load, loads start at least this far apart so each takes a large batch. */
  minIntervalMs: number;
  /** Wait before retrying after a failed load. */
  retryMs: number;
  onLoaded?: (segment: LogSegment, seconds: number) => void;
  onError?: (error: Error) => void;
}

export const LOADER = 'loader';

/**
 * Moves the log into the analytical store in large, exactly-once transactions: it seals the
 * active segment, verifies the sealed ones and loads each whole. Its checkpoint is the store's
 * own loaded position, written in the same transaction as the rows.
 */
export class LogLoader {
  private loaded = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly waiters: PositionWaiters;
  /** (seq, durable at) of durable groups not yet loaded: the lag in time. */
  private readonly arrivals: Array<[number, number]> = [];
  private unsubscribe: (() => void) | null = null;
  /** Why loading is stopped, when it is (a corrupt segment, a failing store). */
  problem: string | null = null;
  private readonly corrupt = new Set<string>();

  constructor(
    private readonly log: SegmentedLog,
    private readonly store: LogLoadStore,
    private readonly clock: Clock,
    private readonly options: LoaderOptions,
  ) {
    this.waiters = new PositionWaiters(clock);
  }

  /** Segments where loading stopped at a corrupt record. */
  get corruptSegments(): number {
    return this.corrupt.size;
  }

  get position(): number {
    return this.loaded;
  }

  /** Rows (seqs) durable in the log but not yet in the store. */
  get lagRows(): number {
    return Math.max(0, this.log.head - this.loaded);
  }

  /** How long the oldest unloaded record has been waiting. */
  get lagMs(): number {
    const oldest = this.arrivals[0];
    return oldest ? this.clock.now() - oldest[1] : 0;
  }

  async start(): Promise<void> {
    this.loaded = await this.store.loadedSeq();
    this.log.checkpoint(LOADER, this.loaded);
    // Whatever is already in the log from before this start counts as waiting since now.
    if (this.log.head > this.loaded) this.arrivals.push([this.log.head, this.clock.now()]);
    this.unsubscribe = this.log.onDurable((records) => {
      const last = records[records.length - 1];
      if (last) this.arrived(last.seq);
      this.wake?.();
    });
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Notes when records became durable, for the lag in time: one entry per 100 ms at most, so
   * the list stays short however long loading is stopped.
   */
  private arrived(seq: number): void {
    const now = this.clock.now();
    const newest = this.arrivals[this.arrivals.length - 1];
    if (newest && now - newest[1] < 100) newest[0] = seq;
    else this.arrivals.push([seq, now]);
  }

  /** Resolves once everything up to `seq` is loaded, or false after `timeoutMs`. */
  waitFor(seq: number, timeoutMs: number): Promise<boolean> {
    const waiting = this.waiters.wait(this.loaded, seq, timeoutMs);
    if (this.loaded < seq) this.wake?.();
    return waiting;
  }

  /** Loads everything durable now, then stops (shutdown, and the offline importer). */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.unsubscribe?.();
  }

  /** Loads until the store holds everything durable now (used without the loop, by imports). */
  async catchUp(onProgress?: (loaded: number) => void): Promise<void> {
    while (this.loaded < this.log.head) {
      if (this.log.sealedAfter(this.loaded).length === 0) await this.log.seal();
      await this.loadSealed();
      onProgress?.(this.loaded);
      if (this.problem) throw new Error(this.problem);
    }
  }

  private async run(): Promise<void> {
    while (this.running || this.loaded < this.log.head) {
      const started = this.clock.now();
      if (this.loaded < this.log.head) {
        const before = this.loaded;
        if (this.log.sealedAfter(this.loaded).length === 0) await this.log.seal();
        await this.loadSealed();
        // Stopping, with nothing more it can load (e.g. the log closed under it): done.
        if (!this.running && this.loaded === before && !this.problem) return;
      }
      if (this.problem) {
        if (!this.running) return;
        await this.clock.sleep(this.options.retryMs);
        this.problem = null;
        continue;
      }
      if (!this.running) continue;
      if (this.loaded >= this.log.head) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
      }
      const rest = started + this.options.minIntervalMs - this.clock.now();
      if (rest > 0 && this.waiters.size === 0 && this.running) await this.clock.sleep(rest);
    }
  }

  private async loadSealed(): Promise<void> {
    for (const segment of this.log.sealedAfter(this.loaded)) {
      const started = this.clock.now();
      try {
        const verified = await this.log.verify(segment);
        if (verified.lastSeq > this.loaded) {
          await this.store.loadSegment(verified, this.loaded);
          this.loaded = verified.lastSeq;
          this.options.onLoaded?.(verified, (this.clock.now() - started) / 1000);
        }
      } catch (e) {
        const error = e as Error;
        if (error instanceof LogCorruptError) this.corrupt.add(error.path);
        this.problem = error.message;
        this.options.onError?.(error);
        return;
      }
      this.log.checkpoint(LOADER, this.loaded);
      while (this.arrivals.length > 0 && (this.arrivals[0] as [number, number])[0] <= this.loaded)
        this.arrivals.shift();
      this.waiters.reached(this.loaded);
    }
  }
}
