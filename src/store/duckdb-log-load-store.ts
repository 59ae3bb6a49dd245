import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogSegment } from '../services/event-log.js';
import type { LogLoadStore } from '../services/log-loader.js';
import { backfillEventFacts, fillEventFacts } from './duckdb-facts.js';
import {
  EVENT_ROW_COLUMNS,
  EVENT_ROW_SELECT,
  QUARANTINE_ROW_COLUMNS,
  QUARANTINE_ROW_SELECT,
} from './row-json.js';

// The largest record is a quarantined request (≤ 500 KB of body, JSON-escaped at most 6×); DuckDB
// sizes its read buffers from this, so it must not be needlessly large.
const readJson = (columns: string) =>
  `read_json($path, format = 'newline_delimited', maximum_object_size = 16777216,
     columns = {"k":"VARCHAR","s":"BIGINT",${columns.trim().slice(1).replaceAll('\n', ' ')})`;

// A segment file is NDJSON as DuckDB reads it: parsed on all its threads, no copy in JavaScript.
const LOAD_EVENTS = `INSERT INTO events SELECT ${EVENT_ROW_SELECT}
  FROM ${readJson(EVENT_ROW_COLUMNS.replace('"s":"BIGINT",', ''))} AS r WHERE r.k = 'e' AND r.s > $after`;
const LOAD_QUARANTINE = `INSERT INTO quarantine SELECT ${QUARANTINE_ROW_SELECT}
  FROM ${readJson(QUARANTINE_ROW_COLUMNS)} AS r WHERE r.k = 'q' AND r.s > $after`;

export interface LoadStoreOptions {
  /** Extract each event's facts into `event_facts` (default). Off only to measure what they cost. */
  facts?: boolean;
  /** Loads of up to this many seqs extract facts in JavaScript (default SMALL_BATCH; tests vary it). */
  smallBatch?: number;
  /**
   * Under a steady stream of small loads, extract facts for several loads at once: when this
   * many seqs wait, or the oldest has waited `maxDelayMs` (and on `flushFacts`). Each
   * extraction has a fixed cost that small loads would pay every time, on the core the
   * collector needs. Off by default: every load extracts its own facts.
   */
  deferFacts?: { seqs: number; maxDelayMs: number; now: () => number };
}

/**
 * The loader's side of DuckDB: whole log segments in, with each event's facts (`event_facts`,
 * see duckdb-facts.ts) and the loaded position, in one transaction.
 */
export class DuckDBLogLoadStore implements LogLoadStore {
  private backfilled = false;
  /** The highest seq whose facts are stored (-1 until the first `loadedSeq`). */
  private factsSeq = -1;
  private loaded = 0;
  /** When the oldest event without facts was loaded (deferred extraction). */
  private pendingSince: number | null = null;
  /** Loads and deferred extractions share the connection: one at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly writer: DuckDBConnection,
    private readonly options: LoadStoreOptions = {},
  ) {}

  /** Also, once, gives facts to events stored before `event_facts` existed (migration 005). */
  async loadedSeq(): Promise<number> {
    if (!this.backfilled && this.options.facts !== false) {
      await backfillEventFacts(this.writer, this.options.smallBatch);
      this.backfilled = true;
    }
    const r = await this.writer.runAndReadAll(
      `SELECT coalesce((SELECT seq FROM log_progress WHERE consumer = 'loader'),
         (SELECT max(seq) FROM events), 0)::DOUBLE, (SELECT coalesce(max(seq), 0) FROM event_facts)::DOUBLE`,
    );
    const [loaded, facts] = (r.getRowsJS()[0] ?? [0, 0]).map(Number) as [number, number];
    this.loaded = loaded;
    this.factsSeq = Math.max(facts, this.options.facts === false ? loaded : 0);
    return loaded;
  }

  /** The highest seq whose facts are stored: all events up to it have them. */
  get factsPosition(): number {
    return Math.min(this.factsSeq, this.loaded);
  }

  loadSegment(segment: LogSegment, after: number): Promise<void> {
    return this.serial(async () => {
      const c = this.writer;
      const defer = this.options.deferFacts;
      await c.run('BEGIN TRANSACTION');
      let factsTo = this.factsSeq;
      try {
        if (segment.events > 0) {
          await c.run(LOAD_EVENTS, { path: segment.path, after });
          if (this.options.facts !== false) {
            const waited = defer && this.pendingSince !== null ? defer.now() - this.pendingSince : 0;
            // Deferred only once the facts position is known (`loadedSeq` ran).
            if (
              !defer ||
              this.factsSeq < 0 ||
              segment.lastSeq - this.factsSeq >= defer.seqs ||
              waited >= defer.maxDelayMs
            ) {
              const from = this.factsSeq >= 0 && this.factsSeq < after ? this.factsSeq : after;
              await fillEventFacts(c, from, segment.lastSeq, this.options.smallBatch);
              factsTo = segment.lastSeq;
            }
          }
        }
        if (segment.quarantined > 0) await c.run(LOAD_QUARANTINE, { path: segment.path, after });
        await c.run(`INSERT OR REPLACE INTO log_progress VALUES ('loader', $seq)`, { seq: segment.lastSeq });
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      this.loaded = segment.lastSeq;
      // Caught up: this load extracted its facts (and any deferred before it), or had no events
      // and nothing was waiting.
      const caughtUp =
        factsTo === segment.lastSeq ||
        this.options.facts === false ||
        (segment.events === 0 && this.factsSeq >= after);
      if (caughtUp) {
        this.factsSeq = segment.lastSeq;
        this.pendingSince = null;
      } else this.pendingSince ??= defer?.now() ?? 0;
    });
  }

  /**
   * Extracts the facts loads deferred (all of them, or only when the oldest has waited
   * `olderThanMs`): readers that need every loaded event's facts call it first.
   */
  flushFacts(o: { olderThanMs?: number } = {}): Promise<void> {
    return this.serial(async () => {
      if (this.options.facts === false || this.factsSeq < 0 || this.factsSeq >= this.loaded) return;
      const now = this.options.deferFacts?.now() ?? 0;
      if (o.olderThanMs !== undefined && now - (this.pendingSince ?? now) < o.olderThanMs) return;
      const to = this.loaded;
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await fillEventFacts(this.writer, this.factsSeq, to, this.options.smallBatch);
        await this.writer.run('COMMIT');
      } catch (e) {
        await this.writer.run('ROLLBACK').catch(() => undefined);
        throw e;
      }
      this.factsSeq = to;
      this.pendingSince = null;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
