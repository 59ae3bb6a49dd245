import type { EventLog, LogRecord } from './event-log.js';
import type { Clock } from './ports.js';

/** A consumer of the log in seq order: identity now, segments and webhooks later. */
export interface Consumer {
  readonly name: string;
  /** The last seq fully handled (in memory). Records at or below it are skipped on replay. */
  readonly position: number;
  /**
   * Handles records in seq order, advancing `position` past each one only once it is handled;
   * throws (or rejects) on failure, leaving `position` at the last record it finished. A
   * consumer whose work is long returns a promise and yields to the event loop meanwhile; the
   * runner hands it nothing more until it settles.
   */
  handle(records: LogRecord[]): void | Promise<void>;
}

export interface ConsumerOptions {
  retryMs: number;
  onError?: (consumer: string, error: Error, seq: number) => void;
}

export type ConsumerState = 'catching-up' | 'live' | 'stalled' | 'stopped';

/**
 * Feeds a consumer from the log: it replays from the consumer's position (reading segment
 * files), then takes each durable group as it is synced. A failure stalls it at the failed
 * record, with the error reported; it retries from there, so no record is ever skipped.
 */
export class ConsumerRunner {
  state: ConsumerState = 'stopped';
  lastError: string | null = null;
  failures = 0;
  private unsubscribe: (() => void) | null = null;
  private replaying: Promise<void> | null = null;
  /** A live group the consumer is still working through, and the groups that came meanwhile. */
  private busy: Promise<boolean> | null = null;
  private waiting: LogRecord[][] = [];

  constructor(
    private readonly log: EventLog,
    private readonly consumer: Consumer,
    private readonly clock: Clock,
    private readonly options: ConsumerOptions,
  ) {}

  /** Starts consuming; the replay of what it missed runs in the background (see `caughtUp`). */
  start(): void {
    this.unsubscribe = this.log.onDurable((records) => {
      if (this.state !== 'live') return;
      if (this.busy) this.waiting.push(records);
      else this.feedLive(records);
    });
    this.replay();
  }

  /** Resolves when the consumer has replayed the log up to the head as it is now. */
  async caughtUp(): Promise<void> {
    while (this.replaying) await this.replaying;
  }

  get lag(): number {
    return Math.max(0, this.log.head - this.consumer.position);
  }

  stop(): void {
    this.state = 'stopped';
    this.waiting = [];
    this.unsubscribe?.();
  }

  /** Hands records to the consumer; true once handled, false after a failure (reported). */
  private feed(records: LogRecord[]): boolean | Promise<boolean> {
    try {
      const pending = this.consumer.handle(records);
      if (!pending) return true;
      return pending.then(
        () => true,
        (e) => {
          this.fail(e as Error);
          return false;
        },
      );
    } catch (e) {
      this.fail(e as Error);
      return false;
    }
  }

  /**
   * A live group; while the consumer works through one asynchronously, later groups wait and go
   * next, together and in seq order. After a failure they are dropped: the replay reads them.
   */
  private feedLive(records: LogRecord[]): void {
    const done = this.feed(records);
    if (typeof done === 'boolean') return;
    this.busy = done;
    void done.then((ok) => {
      this.busy = null;
      const next = this.waiting.flat();
      this.waiting = [];
      if (ok && this.state === 'live' && next.length > 0) this.feedLive(next);
    });
  }

  private fail(error: Error): void {
    this.state = 'stalled';
    this.failures++;
    this.lastError = `${error.message} (after seq ${this.consumer.position})`;
    this.options.onError?.(this.consumer.name, error, this.consumer.position);
    void this.clock.sleep(this.options.retryMs).then(() => {
      if (this.state === 'stalled') this.replay();
    });
  }

  private replay(): void {
    this.state = 'catching-up';
    if (this.replaying) return;
    const run = this.runReplay();
    this.replaying = run;
    void run.finally(() => {
      if (this.replaying === run) this.replaying = null;
    });
  }

  private async runReplay(): Promise<void> {
    try {
      // Read until nothing is left; the last check and the switch to live happen in one tick,
      // so no durable group can fall between the replay and the live feed.
      while (this.consumer.position < this.log.head) {
        let ok = true;
        let records = 0;
        await this.log.read(this.consumer.position, async (chunk) => {
          records += chunk.length;
          if (ok) ok = await this.feed(chunk.filter((r) => r.seq > this.consumer.position));
        });
        if (!ok) return;
        // Nothing left to read below the head (seqs may have gaps): live from here.
        if (records === 0) break;
      }
      if (this.state === 'catching-up') {
        this.state = 'live';
        this.lastError = null;
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }
}
