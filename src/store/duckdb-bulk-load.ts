import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { BulkLoad, BulkLoader, BulkLoadResult } from '../services/ports.js';
import {
  EVENT_ROW_COLUMNS,
  EVENT_ROW_SELECT,
  eventRow,
  QUARANTINE_ROW_COLUMNS,
  QUARANTINE_ROW_SELECT,
  quarantineRow,
} from './row-json.js';

/** Rows per spool file: big enough that DuckDB parses each on all its threads. */
const ROWS_PER_FILE = 250_000;

/**
 * Bulk loads through NDJSON spool files that DuckDB reads in parallel (`read_json`) into a
 * temporary staging table, while the caller prepares the next rows. `finish` then, in one
 * transaction, keeps the first copy of every messageId that is not already stored, counts
 * exact repeats, and quarantines reused ids with a different payload, as the API does.
 */
export class DuckDBBulkLoader implements BulkLoader {
  constructor(
    private readonly connection: DuckDBConnection,
    /** Where spool files go (the data directory, so they sit on the same disk). */
    private readonly spoolParent: string = tmpdir(),
  ) {}

  async begin(workspaceId: string, importId: string): Promise<BulkLoad> {
    const c = this.connection;
    const maxSeq = await c.runAndReadAll('SELECT coalesce(max(seq), 0)::DOUBLE FROM events');
    const firstSeq = Number(maxSeq.getRowsJS()[0]?.[0] ?? 0) + 1;
    await c.run('CREATE OR REPLACE TEMP TABLE import_events AS SELECT * FROM events LIMIT 0');
    await c.run('CREATE OR REPLACE TEMP TABLE import_quarantine AS SELECT * FROM quarantine LIMIT 0');
    const dir = await mkdtemp(join(this.spoolParent, `.import-${importId.slice(0, 8)}-`));
    return new DuckDBBulkLoad(c, workspaceId, importId, firstSeq, dir);
  }
}

/** Spool files of one staging table, and the statement that loads one of them into it. */
class Spool {
  private stream: WriteStream | null = null;
  private rows = 0;
  private files = 0;
  readonly loadSql: string;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    table: string,
    columns: string,
    select: string,
  ) {
    this.loadSql = `INSERT INTO ${table} SELECT ${select} FROM read_json($path, format = 'newline_delimited',
      maximum_object_size = 1073741824, columns = ${columns.replaceAll('\n', ' ')}) AS r`;
  }

  /** Appends rows; returns the path of a file that is full and closed, ready to load. */
  async write(lines: string[]): Promise<string | null> {
    if (lines.length === 0) return null;
    if (!this.stream) this.stream = createWriteStream(this.path());
    if (!this.stream.write(`${lines.join('\n')}\n`)) await once(this.stream, 'drain');
    this.rows += lines.length;
    return this.rows >= ROWS_PER_FILE ? this.close() : null;
  }

  async close(): Promise<string | null> {
    const stream = this.stream;
    if (!stream) return null;
    const path = this.path();
    this.stream = null;
    this.rows = 0;
    this.files++;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    return path;
  }

  private path(): string {
    return join(this.dir, `${this.name}-${this.files}.ndjson`);
  }
}

class DuckDBBulkLoad implements BulkLoad {
  private readonly events: Spool;
  private readonly quarantine: Spool;
  /** The file DuckDB is loading now; the next one waits for it (one writer connection). */
  private loading: Promise<void> = Promise.resolve();

  constructor(
    private readonly c: DuckDBConnection,
    private readonly workspaceId: string,
    private readonly importId: string,
    readonly firstSeq: number,
    private readonly dir: string,
  ) {
    this.events = new Spool(dir, 'events', 'import_events', EVENT_ROW_COLUMNS, EVENT_ROW_SELECT);
    this.quarantine = new Spool(
      dir,
      'quarantine',
      'import_quarantine',
      QUARANTINE_ROW_COLUMNS,
      QUARANTINE_ROW_SELECT,
    );
  }

  async addEvents(events: StoredEvent[]): Promise<void> {
    this.enqueue(this.events, await this.events.write(events.map(eventRow)));
  }

  async addQuarantine(rows: QuarantinedMessage[]): Promise<void> {
    this.enqueue(this.quarantine, await this.quarantine.write(rows.map(quarantineRow)));
  }

  private enqueue(spool: Spool, path: string | null): void {
    if (path === null) return;
    this.loading = this.loading.then(async () => {
      await this.c.run(spool.loadSql, { path });
      await rm(path, { force: true });
    });
    // Surfaces at the next await of `loading` (finish), not as an unhandled rejection now.
    this.loading.catch(() => undefined);
  }

  async finish(): Promise<BulkLoadResult> {
    this.enqueue(this.events, await this.events.close());
    this.enqueue(this.quarantine, await this.quarantine.close());
    await this.loading;
    const c = this.c;
    try {
      await c.run('BEGIN TRANSACTION');
      // One verdict per staged row: first copy of an id not yet stored → new; same payload as
      // the first copy (stored or staged) → duplicate; different payload → conflict.
      await c.run(
        `CREATE OR REPLACE TEMP TABLE import_verdicts AS
         WITH ranked AS (
           SELECT s.*, row_number() OVER w AS rn, first_value(s.fingerprint) OVER w AS first_fp
           FROM import_events s WINDOW w AS (PARTITION BY s.message_id ORDER BY s.seq)
         ), stored AS (
           SELECT message_id, any_value(fingerprint) AS fp FROM events
           WHERE workspace_id = $ws AND message_id IN (SELECT message_id FROM import_events)
           GROUP BY message_id
         )
         SELECT r.*, CASE
             WHEN st.fp IS NOT NULL THEN IF(st.fp = r.fingerprint, 'duplicate', 'conflict')
             WHEN r.rn > 1 THEN IF(r.first_fp = r.fingerprint, 'duplicate', 'conflict')
             ELSE 'new' END AS verdict
         FROM ranked r LEFT JOIN stored st ON st.message_id = r.message_id`,
        { ws: this.workspaceId },
      );
      await c.run(
        `INSERT INTO events SELECT * EXCLUDE (rn, first_fp, verdict) FROM import_verdicts WHERE verdict = 'new' ORDER BY seq`,
      );
      await c.run(
        `INSERT INTO quarantine SELECT workspace_id, received_at, $importId, NULL, message_id, 'conflicting_duplicate',
           'messageId ' || to_json(message_id) || ' was already received with a different payload', 'messageId',
           to_json(struct_pack(type, event, user_id, anonymous_id, timestamp, properties, traits, context))::VARCHAR
         FROM import_verdicts WHERE verdict = 'conflict'`,
        { importId: this.importId },
      );
      await c.run('INSERT INTO quarantine SELECT * FROM import_quarantine');
      const counts = (
        await c.runAndReadAll(`SELECT verdict, count(*)::DOUBLE FROM import_verdicts GROUP BY verdict`)
      ).getRowsJS();
      await c.run('COMMIT');
      const of = (v: string) => Number(counts.find((r) => r[0] === v)?.[1] ?? 0);
      return { inserted: of('new'), duplicates: of('duplicate'), conflicts: of('conflict') };
    } catch (e) {
      await c.run('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      await this.cleanUp();
    }
  }

  async abort(): Promise<void> {
    await this.events.close().catch(() => undefined);
    await this.quarantine.close().catch(() => undefined);
    await this.loading.catch(() => undefined);
    await this.cleanUp();
  }

  private async cleanUp(): Promise<void> {
    for (const table of ['import_events', 'import_quarantine', 'import_verdicts']) {
      await this.c.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
