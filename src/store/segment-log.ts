import { mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LogCorruptError,
  type LogRecord,
  type LogSegment,
  LogWriteError,
  type SegmentedLog,
} from '../services/event-log.js';
import { checkLine, decodeRecord, encodeRecord, eventIdOf } from './log-line.js';
import { checkRecords, forEachLine, lastSeqIn, scanTail, seqAt, syncDir } from './segment-scan.js';

/** The file operations a write goes through; tests replace them to inject faults (ENOSPC). */
export interface LogIo {
  write(fh: FileHandle, data: Buffer): Promise<void>;
  sync(fh: FileHandle): Promise<void>;
  truncate(fh: FileHandle, length: number): Promise<void>;
}

const realIo: LogIo = {
  write: async (fh, data) => {
    let done = 0;
    while (done < data.length) done += (await fh.write(data, done, data.length - done)).bytesWritten;
  },
  sync: (fh) => fh.datasync(),
  truncate: (fh, length) => fh.truncate(length),
};

export interface SegmentLogOptions {
  /** Where segment files live (`<dataDir>/log`). */
  dir: string;
  /** A segment is sealed once it holds this many bytes. */
  segmentBytes?: number;
  /** Consumers whose checkpoints must all pass a segment before it is removed. */
  consumers: string[];
  /** Keep consumed segments instead of removing them (retention setting). */
  keepConsumed?: boolean;
  io?: Partial<LogIo>;
  /** Where failures no caller awaits are reported: a throwing listener, a failed seal or removal. */
  onError?: (error: Error) => void;
  /** Where recovery reports a discarded torn tail (the server's logger). */
  warn?: (message: string, details: Record<string, unknown>) => void;
}

interface Segment extends LogSegment {
  sealed: boolean;
  /**
   * Written by this process: its records were checksummed as they were encoded and every write
   * was synced whole, so it needs no second reading. Segments found at start-up are verified.
   */
  writtenHere: boolean;
  /** Durable bytes: what a reader may read of the active segment. */
  durableBytes: number;
}

interface Pending {
  records: LogRecord[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;
const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, '0')}.seg`;
const READ_CHUNK = 5000;

/**
 * The local ingest log: append-only segment files of checksummed JSON lines (log-line.ts).
 * Appends are group-written: whatever queued while one write and fdatasync were in flight goes
 * out in the next single write and sync, and every promise of a group resolves only after that
 * sync. Segments are named after their first seq, so opening reads only the last one (to find
 * the head and discard a torn, never-acknowledged tail).
 */
export class SegmentLog implements SegmentedLog {
  private readonly segments: Segment[] = [];
  private active: { segment: Segment; fh: FileHandle } | null = null;
  private queue: Pending[] = [];
  private sealRequested: Array<() => void> = [];
  private writing: Promise<void> | null = null;
  private lastQueuedSeq = 0;
  private durableHead = 0;
  private readonly listeners = new Set<(records: LogRecord[]) => void>();
  private readonly checkpoints = new Map<string, number>();
  private removing: Promise<void> = Promise.resolve();
  private readonly io: LogIo;
  private readonly segmentBytes: number;
  /** Set after a failed write whose partial bytes could not be cut off yet. */
  private dirtyFrom: number | null = null;

  private constructor(private readonly options: SegmentLogOptions) {
    this.io = { ...realIo, ...options.io };
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
  }

  /** Opens (creating) the log directory; a torn tail of the last segment is cut off and reported. */
  static async open(options: SegmentLogOptions): Promise<SegmentLog> {
    mkdirSync(options.dir, { recursive: true });
    const log = new SegmentLog(options);
    await log.recover();
    return log;
  }

  get head(): number {
    return this.durableHead;
  }

  get tail(): number {
    return this.segments[0]?.firstSeq ?? this.durableHead + 1;
  }

  /** Bytes of sealed and active segments still on disk. */
  get bytesHeld(): number {
    return this.segments.reduce((n, s) => n + s.durableBytes, 0);
  }

  onDurable(listener: (records: LogRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  append(records: LogRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const first = records[0] as LogRecord;
    if (first.seq <= this.lastQueuedSeq) {
      return Promise.reject(
        new Error(`log append out of order: seq ${first.seq} after ${this.lastQueuedSeq}`),
      );
    }
    this.lastQueuedSeq = (records[records.length - 1] as LogRecord).seq;
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.writing ??= this.writeLoop();
    });
  }

  seal(): Promise<void> {
    if (!this.active || this.active.segment.events + this.active.segment.quarantined === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.sealRequested.push(resolve);
      this.writing ??= this.writeLoop();
    });
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 || this.sealRequested.length > 0) {
        if (this.queue.length > 0) await this.writeGroup(this.queue.splice(0));
        if (
          this.sealRequested.length > 0 ||
          (this.active && this.active.segment.bytes >= this.segmentBytes)
        ) {
          // A failed seal leaves the segment active (appends go on into it); reported, not thrown.
          await this.sealActive().catch((e: Error) => this.options.onError?.(e));
          for (const done of this.sealRequested.splice(0)) done();
        }
      }
    } finally {
      this.writing = null;
    }
  }

  private async writeGroup(group: Pending[]): Promise<void> {
    const all: LogRecord[] = [];
    for (const p of group) for (const r of p.records) all.push(r);
    let target: { segment: Segment; fh: FileHandle };
    let data: Buffer;
    try {
      let text = '';
      for (let i = 0; i < all.length; i++) text += encodeRecord(all[i] as LogRecord, i === all.length - 1);
      data = Buffer.from(text, 'utf8');
      target = await this.writable((all[0] as LogRecord).seq);
      if (this.dirtyFrom !== null) {
        await this.io.truncate(target.fh, this.dirtyFrom);
        this.dirtyFrom = null;
      }
      try {
        await this.io.write(target.fh, data);
        await this.io.sync(target.fh);
      } catch (e) {
        // Nothing of this group was acknowledged: cut off whatever part of it reached the file.
        this.dirtyFrom = target.segment.durableBytes;
        await this.io.truncate(target.fh, target.segment.durableBytes).then(
          () => {
            this.dirtyFrom = null;
          },
          () => undefined,
        );
        throw e;
      }
    } catch (e) {
      const failure = new LogWriteError(e);
      for (const p of group) p.reject(failure);
      return;
    }
    const s = target.segment;
    s.bytes += data.length;
    s.durableBytes = s.bytes;
    for (const r of all) {
      if (r.kind === 'event') s.events++;
      else s.quarantined++;
    }
    s.lastSeq = (all[all.length - 1] as LogRecord).seq;
    this.durableHead = s.lastSeq;
    for (const p of group) p.resolve();
    for (const l of this.listeners) {
      // One failing listener (a live stream, say) must neither stop the others nor the log.
      try {
        l(all);
      } catch (e) {
        this.options.onError?.(e as Error);
      }
    }
  }

  /** The active segment, created (and its directory entry synced) on the first record after a seal. */
  private async writable(firstSeq: number): Promise<{ segment: Segment; fh: FileHandle }> {
    if (this.active) return this.active;
    const path = join(this.options.dir, segmentName(firstSeq));
    const fh = await open(path, 'a');
    await syncDir(this.options.dir);
    const segment: Segment = {
      id: firstSeq,
      path,
      firstSeq,
      lastSeq: firstSeq - 1,
      events: 0,
      quarantined: 0,
      bytes: 0,
      durableBytes: 0,
      sealed: false,
      writtenHere: true,
    };
    this.segments.push(segment);
    this.active = { segment, fh };
    return this.active;
  }

  private async sealActive(): Promise<void> {
    const a = this.active;
    if (!a) return;
    // Bytes of a failed write must go before the segment is closed for good.
    if (this.dirtyFrom !== null) {
      await this.io.truncate(a.fh, this.dirtyFrom);
      this.dirtyFrom = null;
    }
    this.active = null;
    a.segment.sealed = true;
    await a.fh.close();
    if (a.segment.events + a.segment.quarantined === 0) {
      this.segments.splice(this.segments.indexOf(a.segment), 1);
      await rm(a.segment.path, { force: true });
    }
  }

  sealedAfter(after: number): LogSegment[] {
    return this.segments.filter((s) => s.sealed && s.lastSeq > after).map(publicView);
  }

  async verify(segment: LogSegment): Promise<LogSegment> {
    const own = this.segments.find((x) => x.id === segment.id);
    if (own?.writtenHere && own.sealed) return publicView(own);
    const buf = await readFile(segment.path);
    const { events, quarantined, last } = await checkRecords(buf, segment.path);
    const lastSeq = last ? seqAt(buf, last) : segment.firstSeq - 1;
    if (own) Object.assign(own, { events, quarantined, lastSeq });
    return { ...segment, events, quarantined, lastSeq, bytes: buf.length };
  }

  async read(after: number, onChunk: (records: LogRecord[]) => Promise<void> | void): Promise<void> {
    const upTo = this.durableHead;
    for (const s of [...this.segments]) {
      if (s.lastSeq <= after || s.firstSeq > upTo) continue;
      const buf = await this.bytesOf(s);
      if (!buf) continue;
      const limit = Math.min(buf.length, s.durableBytes);
      let chunk: LogRecord[] = [];
      const lines: Array<[number, number]> = [];
      forEachLine(buf, limit, (start, end) => {
        const problem = checkLine(buf, start, end);
        if (problem) throw new LogCorruptError(s.path, start, problem);
        lines.push([start, end]);
      });
      for (const [start, end] of lines) {
        const record = decodeRecord(buf.toString('utf8', start, end));
        if (record.seq <= after || record.seq > upTo) continue;
        chunk.push(record);
        if (chunk.length >= READ_CHUNK) {
          await onChunk(chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) await onChunk(chunk);
    }
  }

  async readIds(
    after: number,
    onId: (workspaceId: string, messageId: string, fingerprint: string) => void,
  ): Promise<void> {
    const upTo = this.durableHead;
    for (const s of [...this.segments]) {
      if (s.lastSeq <= after || s.firstSeq > upTo) continue;
      const buf = await this.bytesOf(s);
      if (!buf) continue;
      // Records of a segment before `after` are read too (seqs are not parsed): remembering an
      // id that is also in the database is harmless.
      forEachLine(buf, Math.min(buf.length, s.durableBytes), (start, end) => {
        // A damaged record is not remembered: the loader reports it and stops there, so it is
        // never stored either, and the collector must still start.
        if (checkLine(buf, start, end)) return;
        const id = eventIdOf(buf, start, end);
        if (id) onId(id[0], id[1], id[2]);
      });
    }
  }

  /** A segment's bytes; null for one removed meanwhile (every consumer had it). */
  private async bytesOf(s: Segment): Promise<Buffer | null> {
    return readFile(s.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' && !this.segments.includes(s)) return null;
      throw e;
    });
  }

  checkpoint(consumer: string, seq: number): void {
    if ((this.checkpoints.get(consumer) ?? 0) >= seq) return;
    this.checkpoints.set(consumer, seq);
    if (this.options.keepConsumed) return;
    let min = Number.POSITIVE_INFINITY;
    for (const name of this.options.consumers) min = Math.min(min, this.checkpoints.get(name) ?? 0);
    const done = this.segments.filter((s) => s.sealed && s.lastSeq <= min);
    if (done.length === 0) return;
    for (const s of done) this.segments.splice(this.segments.indexOf(s), 1);
    this.removing = this.removing
      .then(async () => {
        for (const s of done) await rm(s.path, { force: true });
      })
      .catch((e: Error) => this.options.onError?.(e));
  }

  /** Waits for writes in flight and seals the active segment (a loader may still take it). */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    await this.sealActive();
    await this.removing;
  }

  // ── recovery ───────────────────────────────────────────────────────────────

  private async recover(): Promise<void> {
    const names = readdirSync(this.options.dir)
      .map((n) => SEGMENT_NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (let i = 0; i < names.length; i++) {
      const firstSeq = names[i] as number;
      const path = join(this.options.dir, segmentName(firstSeq));
      const next = names[i + 1];
      const size = (await stat(path)).size;
      const segment: Segment = {
        id: firstSeq,
        path,
        firstSeq,
        // Seqs may have gaps (a failed write): the next segment's first seq bounds this one's last.
        lastSeq: next === undefined ? firstSeq - 1 : next - 1,
        events: 0,
        quarantined: 0,
        bytes: size,
        durableBytes: size,
        sealed: true,
        writtenHere: false,
      };
      this.segments.push(segment);
      if (next === undefined) await this.recoverLast(segment);
    }
    const last = this.segments[this.segments.length - 1];
    // An empty last segment (all of it torn) is removed. The head is then the last record of
    // the segment before: its bound (next first seq − 1) may name no record when seqs have gaps,
    // and consumers waiting to reach the head would wait for a record that does not exist.
    if (last && last.bytes === 0) {
      this.segments.pop();
      await rm(last.path, { force: true });
      const previous = this.segments[this.segments.length - 1];
      if (previous) previous.lastSeq = lastSeqIn(await readFile(previous.path), previous.firstSeq - 1);
    }
    this.durableHead = this.segments[this.segments.length - 1]?.lastSeq ?? 0;
    this.lastQueuedSeq = this.durableHead;
  }

  /** Cuts a torn tail off the last segment (kept aside and reported), or reports damage in it. */
  private async recoverLast(segment: Segment): Promise<void> {
    const buf = await readFile(segment.path);
    const verdict = scanTail(buf);
    if (verdict.kind === 'corrupt') {
      this.options.warn?.('corrupt record in the middle of the last ingest log segment', {
        segment: segment.path,
        atByte: verdict.at,
        reason: verdict.reason,
      });
    }
    if (verdict.kind === 'torn') {
      const aside = `${segment.path}.torn-${Date.now()}`;
      await writeFile(aside, buf.subarray(verdict.keep));
      const fh = await open(segment.path, 'r+');
      await fh.truncate(verdict.keep);
      await fh.datasync();
      await fh.close();
      this.options.warn?.('discarded a torn, unacknowledged tail of the ingest log', {
        segment: segment.path,
        atByte: verdict.keep,
        bytes: buf.length - verdict.keep,
        reason: verdict.reason,
        keptAs: aside,
      });
    }
    if (verdict.lastSeq !== null) segment.lastSeq = verdict.lastSeq;
    segment.bytes = verdict.kind === 'intact' ? buf.length : verdict.keep;
    segment.durableBytes = segment.bytes;
  }
}

const publicView = (s: Segment): LogSegment => ({
  id: s.id,
  path: s.path,
  firstSeq: s.firstSeq,
  lastSeq: s.lastSeq,
  events: s.events,
  quarantined: s.quarantined,
  bytes: s.durableBytes,
});
