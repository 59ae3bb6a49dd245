import type { Clock } from './ports.js';

/** Callers waiting for a consumer's durable position to reach a seq (read barriers). */
export class PositionWaiters {
  private readonly waiting: Array<{ seq: number; resolve: () => void }> = [];

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.waiting.length;
  }

  /** Resolves true once `reached` is called with `seq` or more, or false after `timeoutMs`. */
  wait(position: number, seq: number, timeoutMs: number): Promise<boolean> {
    if (position >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { seq, resolve: () => resolve(true) };
      this.waiting.push(waiter);
      void this.clock.sleep(timeoutMs).then(() => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          resolve(false);
        }
      });
    });
  }

  /** The position is now `position`: wakes everyone waiting for it or less. */
  reached(position: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i] as { seq: number; resolve: () => void };
      if (w.seq <= position) {
        this.waiting.splice(i, 1);
        w.resolve();
      }
    }
  }
}
