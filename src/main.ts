import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { LocalStore } from './cli/local-or-remote.js';
import type { Config } from './config/config.js';
import { err, ok, type Result } from './core/result.js';
import { createApp } from './http/create-app.js';
import { createMetrics } from './http/metrics.js';
import { EventQueryService } from './services/event-query-service.js';
import { IdentityService } from './services/identity-service.js';
import { ImportService } from './services/import-service.js';
import { IngestService } from './services/ingest-service.js';
import { type JourneyFileSettings, JourneyService } from './services/journey-service.js';
import { PersonAdminService } from './services/person-admin-service.js';
import { PersonService } from './services/person-service.js';
import type { Clock } from './services/ports.js';
import { WebhookService } from './services/webhook-service.js';
import { type IssuedKey, type Random, WorkspaceService } from './services/workspace-service.js';
import { DuckDBBulkLoader } from './store/duckdb-bulk-load.js';
import { type Database, openDatabase } from './store/duckdb-database.js';
import { DuckDBEventStore } from './store/duckdb-event-store.js';
import { DuckDBIdentityStore } from './store/duckdb-identity-store.js';
import { DuckDBJourneyStore } from './store/duckdb-journey-store.js';
import { DuckDBWebhookStore } from './store/duckdb-webhook-store.js';
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
  const people = identityServices(db);
  ingest.admit = (event) => people.identity.admits(event);
  ingest.onCommitted((events) => people.identity.process(events));
  let journeyFile: JourneyFileSettings;
  try {
    journeyFile = readJourneyFile(config.journeyConfig);
  } catch (e) {
    db.close();
    return err((e as Error).message);
  }
  const journeys = new JourneyService(
    new DuckDBJourneyStore(db.writer, db.reader),
    people.identity,
    people.persons,
    systemClock,
    journeyFile,
  );
  const webhooks = new WebhookService(new DuckDBWebhookStore(db.admin), ingest, systemClock);

  const app = await createApp({
    ingest,
    workspaces,
    queries: new EventQueryService(eventStore),
    identity: people.identity,
    persons: people.persons,
    personAdmin: people.admin,
    journeys,
    webhooks,
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
    const graph = await people.identity.start();
    app.log.info(graph, 'identity graph loaded');
    await journeys.start();
    await webhooks.start();
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
      await people.identity.drain();
      await eventStore.close();
      db.close();
    },
  });
}

const IDENTITY_FLUSH_MS = 50;

/** The journey settings file (`--journey-config`), if any. */
function readJourneyFile(path: string | undefined): JourneyFileSettings {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JourneyFileSettings;
  } catch (e) {
    throw new Error(`cannot read the journey config ${path}: ${(e as Error).message}`);
  }
}

function identityServices(db: Database) {
  const identity = new IdentityService(new DuckDBIdentityStore(db.identity, db.reader), systemClock, {
    flushIntervalMs: IDENTITY_FLUSH_MS,
  });
  const persons = new PersonService(identity);
  const admin = new PersonAdminService(identity, persons, systemClock, randomUUID);
  return { identity, persons, admin };
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
  const people = identityServices(db);
  return ok({
    workspaces,
    imports,
    /** The identity graph, caught up with everything stored (the first call loads it). */
    people: once(async () => {
      await people.identity.start();
      const journeys = new JourneyService(
        new DuckDBJourneyStore(db.writer, db.reader),
        people.identity,
        people.persons,
        systemClock,
        readJourneyFile(process.env.THROUGHLINE_JOURNEY_CONFIG),
      );
      await journeys.start();
      return { ...people, journeys };
    }),
    admission: async () => {
      await people.identity.loadRules();
      return (event) => people.identity.admits(event);
    },
    close: async () => {
      await people.identity.drain();
      db.close();
    },
  });
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}
