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
}

/**
 * The loader's side of DuckDB: whole log segments in, with each event's facts (`event_facts`,
 * see duckdb-facts.ts) and the loaded position, in one transaction.
 */
export class DuckDBLogLoadStore implements LogLoadStore {
  private backfilled = false;

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
         (SELECT max(seq) FROM events), 0)::DOUBLE`,
    );
    return Number(r.getRowsJS()[0]?.[0] ?? 0);
  }

  async loadSegment(segment: LogSegment, after: number): Promise<void> {
    const c = this.writer;
    await c.run('BEGIN TRANSACTION');
    try {
      if (segment.events > 0) {
        await c.run(LOAD_EVENTS, { path: segment.path, after });
        if (this.options.facts !== false)
          await fillEventFacts(c, after, segment.lastSeq, this.options.smallBatch);
      }
      if (segment.quarantined > 0) await c.run(LOAD_QUARANTINE, { path: segment.path, after });
      await c.run(`INSERT OR REPLACE INTO log_progress VALUES ('loader', $seq)`, { seq: segment.lastSeq });
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
}
