import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../core/spec/message.js';
import type { EventLog, LogRecord } from './event-log.js';
import { type Consumer, ConsumerRunner } from './log-consumer.js';

const sleep = (ms: number) => new Promise<void>((r) => (ms <= 0 ? setImmediate(r) : setTimeout(r, ms)));
const clock = { now: () => Date.now(), sleep };

/** Just enough of a log: appended groups are durable at once and read back in chunks of 3. */
class MemoryLog {
  readonly records: LogRecord[] = [];
  private readonly listeners = new Set<(records: LogRecord[]) => void>();
  get head(): number {
    return this.records.at(-1)?.seq ?? 0;
  }
  append(count: number): void {
    const group = Array.from({ length: count }, (_, i): LogRecord => {
      const seq = this.head + i + 1;
      return { kind: 'event', seq, event: { seq } as StoredEvent };
    });
    this.records.push(...group);
    for (const l of this.listeners) l(group);
  }
  onDurable(listener: (records: LogRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async read(after: number, onChunk: (records: LogRecord[]) => Promise<void> | void): Promise<void> {
    const rest = this.records.filter((r) => r.seq > after);
    for (let i = 0; i < rest.length; i += 3) await onChunk(rest.slice(i, i + 3));
  }
}

/** A consumer that works through each group in slices, yielding between records. */
function slowConsumer(failAt: number | null = null) {
  const seen: number[] = [];
  let position = 0;
  let busy = false;
  let overlapped = false;
  let failAtSeq = failAt;
  const consumer: Consumer = {
    name: 'slow',
    get position() {
      return position;
    },
    async handle(records: LogRecord[]) {
      if (busy) overlapped = true;
      busy = true;
      try {
        for (const r of records) {
          if (r.seq <= position) continue;
          await sleep(0);
          if (r.seq === failAtSeq) {
            failAtSeq = null;
            throw new Error('injected failure');
          }
          seen.push(r.seq);
          position = r.seq;
        }
      } finally {
        busy = false;
      }
    },
  };
  return { consumer, seen, overlapped: () => overlapped };
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await sleep(2);
}

describe('a log consumer that yields to the event loop', () => {
  it('gets groups one at a time, in seq order, even when they arrive while it works', async () => {
    const log = new MemoryLog();
    log.append(7);
    const slow = slowConsumer();
    const runner = new ConsumerRunner(log as unknown as EventLog, slow.consumer, clock, { retryMs: 5 });
    runner.start();
    await runner.caughtUp();
    expect(slow.seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(runner.state).toBe('live');
    // Three groups while the first is still being worked through.
    log.append(5);
    log.append(2);
    log.append(4);
    await until(() => slow.seen.length === 18);
    runner.stop();
    expect(slow.seen).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(slow.overlapped()).toBe(false);
  });

  it('stalls at a record that fails after a yield, and retries from it', async () => {
    const log = new MemoryLog();
    const errors: string[] = [];
    const slow = slowConsumer(9);
    const runner = new ConsumerRunner(log as unknown as EventLog, slow.consumer, clock, {
      retryMs: 5,
      onError: (_name, e, seq) => errors.push(`${e.message} after ${seq}`),
    });
    runner.start();
    await runner.caughtUp();
    log.append(6);
    log.append(6);
    await until(() => slow.seen.length === 12);
    runner.stop();
    expect(errors).toEqual(['injected failure after 8']);
    expect(runner.failures).toBe(1);
    expect(slow.seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(slow.overlapped()).toBe(false);
  });
});
