import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { LocalStore } from './cli/local-or-remote.js';
import type { Config } from './config/config.js';
import { err, ok, type Result } from './core/result.js';
import { createApp } from './http/create-app.js';
import { createMetrics } from './http/metrics.js';
import { EventQueryService } from './services/event-query-service.js';
import { ImportService } from './services/import-service.js';
import { IngestService } from './services/ingest-service.js';
import type { Clock } from './services/ports.js';
import { type IssuedKey, type Random, WorkspaceService } from './services/workspace-service.js';
import { DuckDBBulkLoader } from './store/duckdb-bulk-load.js';
import { type Database, openDatabase } from './store/duckdb-database.js';
import { DuckDBEventStore } from './store/duckdb-event-store.js';
import { DuckDBWorkspaceStore } from './store/duckdb-workspace-store.js';

/** Composition root: config → store → services → http, and the ordered shutdown. */

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms))),
};
const systemRandom: Random = { token: (bytes) => randomBytes(bytes).toString('base64url') };

const MAX_ROWS_PER_COMMIT = 5000;

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  /** Keys created on this start (first start of an empty data dir), to show the user once. */
  createdKeys: IssuedKey[];
  /** Stops accepting, lets in-flight requests finish, commits what is queued, closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: Config): Promise<Result<RunningServer, string>> {
  const opened = await openDatabase(config.dataDir, { checkpointThreshold: config.checkpointThreshold });
  if (!opened.ok) return err(opened.error.message);
  const db = opened.value;
  let ready = false;

  const eventStore = new DuckDBEventStore(db.writer, db.reader);
  let ingest: IngestService | undefined;
  const metrics = createMetrics(
    () => ingest?.pendingRows ?? 0,
    () => ingest?.rememberedIds ?? 0,
  );
  ingest = new IngestService(eventStore, systemClock, randomUUID, metrics.observer, {
    dedupWindowMs: config.dedupWindowDays * 86_400_000,
    maxRowsPerCommit: MAX_ROWS_PER_COMMIT,
    minCommitIntervalMs: config.commitIntervalMs,
    maxPendingRows: config.maxPendingRows,
  });
  const workspaces = new WorkspaceService(new DuckDBWorkspaceStore(db.admin), systemClock, systemRandom);

  const app = await createApp({
    ingest,
    workspaces,
    queries: new EventQueryService(eventStore),
    metrics,
    version: VERSION,
    logger: { level: config.logLevel },
    trustProxy: config.trustProxy,
    isReady: () => ready,
  });

  let createdKeys: IssuedKey[] = [];
  try {
    const boot = await workspaces.start({
      ...(config.writeKey ? { writeKey: config.writeKey } : {}),
      ...(config.adminKey ? { adminKey: config.adminKey } : {}),
    });
    if (boot.created) createdKeys = boot.keys;
    const restored = await ingest.start();
    app.log.info({ seq: restored.seq, dedupIds: restored.remembered, database: db.path }, 'store opened');
    await app.listen({ port: config.port, host: config.host });
  } catch (e) {
    await app.close().catch(() => undefined);
    db.close();
    return err(`start-up failed: ${(e as Error).message}`);
  }
  ready = true;

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const running = ingest;
  return ok({
    url: `http://${host}:${port}`,
    app,
    createdKeys,
    close: async () => {
      ready = false;
      await app.close();
      await running.drain();
      await eventStore.close();
      db.close();
    },
  });
}

/** Opens the data directory directly, for CLI commands run while no server holds it. */
export async function openLocal(
  dataDir: string,
): Promise<Result<LocalStore, { locked: boolean; message: string }>> {
  const opened = await openDatabase(dataDir);
  if (!opened.ok) return err({ locked: opened.error.code === 'locked', message: opened.error.message });
  const db: Database = opened.value;
  const workspaces = new WorkspaceService(new DuckDBWorkspaceStore(db.admin), systemClock, systemRandom);
  const imports = new ImportService(new DuckDBBulkLoader(db.writer, dataDir), systemClock, randomUUID);
  return ok({ workspaces, imports, close: () => db.close() });
}
