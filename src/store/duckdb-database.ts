import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { err, ok, type Result } from '../core/result.js';
import { migrate } from './migrate.js';

export const DATABASE_FILE = 'throughline.duckdb';

/** One embedded database: a writer connection (owned by the commit path) and a reader connection. */
export interface Database {
  path: string;
  writer: DuckDBConnection;
  reader: DuckDBConnection;
  /** A connection for anything with its own transactions (workspaces, keys). */
  admin: DuckDBConnection;
  /** The identity pipeline's own connection: its batches are transactions of their own. */
  identity: DuckDBConnection;
  /** The journey tables' builder: a bulk rebuild is one long transaction of its own. */
  journeys: DuckDBConnection;
  close(): void;
}

export type OpenError = { code: 'locked'; message: string } | { code: 'unavailable'; message: string };

/**
 * Opens (creating if needed) `<dataDir>/throughline.duckdb` and migrates it. DuckDB allows one
 * writing process per file; a second opener gets `locked` with the holder DuckDB reports.
 */
export interface DatabaseOptions {
  /** WAL size that triggers a checkpoint (DuckDB's `checkpoint_threshold`), e.g. "16MB". */
  checkpointThreshold?: string;
  /** DuckDB worker threads; defaults to the cores this process may run on. */
  threads?: number;
  /** DuckDB's buffer memory (`memory_limit`, e.g. "512MB"); beyond it DuckDB evicts and spills. */
  memoryLimit?: string;
}

export async function openDatabase(
  dataDir: string | ':memory:',
  options: DatabaseOptions = {},
): Promise<Result<Database, OpenError>> {
  let path = ':memory:';
  if (dataDir !== ':memory:') {
    mkdirSync(dataDir, { recursive: true });
    path = join(dataDir, DATABASE_FILE);
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, {
      // DuckDB counts the machine's cores and ignores CPU affinity: under `taskset` or a container
      // CPU set its extra threads would only fight the event loop for the same cores.
      threads: String(options.threads ?? availableParallelism()),
      ...(options.checkpointThreshold ? { checkpoint_threshold: options.checkpointThreshold } : {}),
      ...(options.memoryLimit ? { memory_limit: options.memoryLimit } : {}),
    });
  } catch (e) {
    const message = (e as Error).message;
    if (/lock/i.test(message)) {
      return err({
        code: 'locked',
        message: `${path} is in use by another process (is \`throughline serve\` running?). ${message}`,
      });
    }
    return err({ code: 'unavailable', message: `cannot open ${path}: ${message}` });
  }
  const writer = await instance.connect();
  const reader = await instance.connect();
  const admin = await instance.connect();
  const identity = await instance.connect();
  const journeys = await instance.connect();
  // FSST-compressed strings are slow to fetch row by row: a person's timeline (100 events by
  // index) took 6× longer with it. Dictionary compression still applies; files grow ≈ 1.6×.
  // (Only a SET takes effect; the same option passed at create is ignored.)
  await writer.run("SET GLOBAL disabled_compression_methods = 'fsst'");
  await migrate(writer);
  return ok({
    path,
    writer,
    reader,
    admin,
    identity,
    journeys,
    close() {
      journeys.closeSync();
      identity.closeSync();
      writer.closeSync();
      reader.closeSync();
      admin.closeSync();
      instance.closeSync();
    },
  });
}
