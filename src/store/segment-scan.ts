import { open } from 'node:fs/promises';
import { LogCorruptError } from '../services/event-log.js';
import { checkLine, decodeRecord, endsGroup } from './log-line.js';

/** Byte-level reading of segment files: lines, the last record, and what a crash left at the end. */

/** Calls `onLine(start, end)` for each complete line (end excludes the newline) from `from` below `limit`. */
export function forEachLine(
  buf: Buffer,
  limit: number,
  onLine: (start: number, end: number) => void,
  from = 0,
): void {
  let start = from;
  while (start < limit) {
    const nl = buf.indexOf(10, start);
    if (nl === -1 || nl >= limit) return;
    onLine(start, nl);
    start = nl + 1;
  }
}

/** The seq of the record on a line. */
export const seqAt = (buf: Buffer, line: readonly [number, number]): number =>
  decodeRecord(buf.toString('utf8', line[0], line[1])).seq;

/** The seq of the last complete record in a segment's bytes. */
export function lastSeqIn(buf: Buffer, otherwise: number): number {
  let last: [number, number] | null = null;
  forEachLine(buf, buf.length, (start, end) => {
    last = [start, end];
  });
  return last ? seqAt(buf, last) : otherwise;
}

const CHECK_SLICE_BYTES = 1 << 20;

/**
 * Checks every record's checksum and counts them; a bad one throws LogCorruptError with the
 * byte offset. Checked in slices: a large segment must not hold the event loop (acks wait on it).
 */
export async function checkRecords(
  buf: Buffer,
  path: string,
): Promise<{ events: number; quarantined: number; last: [number, number] | null }> {
  let events = 0;
  let quarantined = 0;
  let last: [number, number] | null = null;
  let start = 0;
  while (start < buf.length) {
    const stop = buf.indexOf(10, Math.min(buf.length, start + CHECK_SLICE_BYTES) - 1);
    const limit = stop === -1 ? buf.length : stop + 1;
    const onLine = (from: number, end: number) => {
      const problem = checkLine(buf, from, end);
      if (problem) throw new LogCorruptError(path, from, problem);
      if (buf[from + 6] === 0x71) quarantined++;
      else events++;
      last = [from, end];
    };
    forEachLine(buf, limit, onLine, start);
    start = limit;
    if (start < buf.length) await new Promise<void>((r) => setImmediate(r));
  }
  return { events, quarantined, last };
}

/** What the end of a last segment holds after a crash. */
export type TailVerdict =
  /** Whole writes only: keep it all. */
  | { kind: 'intact'; lastSeq: number | null }
  /** An unacknowledged write at the end: keep `keep` bytes, set the rest aside. */
  | { kind: 'torn'; keep: number; lastSeq: number | null; reason: string }
  /** Damage to acknowledged data: keep `keep` bytes and let loading stop at `at`. */
  | { kind: 'corrupt'; keep: number; lastSeq: number; at: number; reason: string };

/**
 * Reads a last segment to its first bad record. A write starts only after the one before it was
 * synced and acknowledged, so everything after the last whole write before the bad record was
 * never acknowledged — a torn tail, not even its complete lines kept — unless two or more whole
 * writes follow the bad record: then the write holding it was acknowledged, and it is damage.
 * (With one, the bad record may sit in the last, unacknowledged write.)
 */
export function scanTail(buf: Buffer): TailVerdict {
  let good = 0;
  let lastGood: [number, number] | null = null;
  let bad: { at: number; reason: string } | null = null;
  let wholeWritesAfterBad = 0;
  let lastWrite: [number, number] | null = null;
  forEachLine(buf, buf.length, (start, end) => {
    const problem = checkLine(buf, start, end);
    if (problem) {
      bad ??= { at: start, reason: problem };
      return;
    }
    if (!endsGroup(buf, start, end)) return;
    lastWrite = [start, end];
    if (bad === null) {
      good = end + 1;
      lastGood = [start, end];
    } else wholeWritesAfterBad++;
  });
  const first = bad as { at: number; reason: string } | null;
  const later = lastWrite as [number, number] | null;
  if (first && later && wholeWritesAfterBad >= 2) {
    return {
      kind: 'corrupt',
      keep: later[1] + 1,
      lastSeq: seqAt(buf, later),
      at: first.at,
      reason: first.reason,
    };
  }
  const lastSeq = lastGood ? seqAt(buf, lastGood) : null;
  if (good === buf.length) return { kind: 'intact', lastSeq };
  return { kind: 'torn', keep: good, lastSeq, reason: first?.reason ?? 'incomplete last write' };
}

export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
