import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { LocalStore } from './cli/local-or-remote.js';
import { type Config, DEFAULTS } from './config/config.js';
import { err, ok, type Result } from './core/result.js';
import type { StoredEvent } from './core/spec/message.js';
import { connectionLimits } from './http/connection-limits.js';
import { createApp } from './http/create-app.js';
import { createMetrics } from './http/metrics.js';
import { EventQueryService } from './services/event-query-service.js';
import { FunnelService } from './services/funnel-service.js';
import { IDENTITY, IdentityService } from './services/identity-service.js';
import { ImportService, type StoredIds } from './services/import-service.js';
import { IngestService, NO_OBSERVER, receivedHistory } from './services/ingest-service.js';
import { type JourneyFileSettings, JourneyService } from './services/journey-service.js';
import { JourneyTablesService } from './services/journey-tables-service.js';
import { KpiService } from './services/kpi-service.js';
import { ConsumerRunner } from './services/log-consumer.js';
import { LOADER, LogLoader } from './services/log-loader.js';
import { OverviewService } from './services/overview-service.js';
import { PathsService } from './services/paths-service.js';
import { PersonAdminService } from './services/person-admin-service.js';
import { PersonService } from './services/person-service.js';
import type { Clock } from './services/ports.js';
import { RetentionService } from './services/retention-service.js';
import { StagesService } from './services/stages-service.js';
import { WebhookService } from './services/webhook-service.js';
import {
  type FirstRunKeys,
  type IssuedKey,
  type Random,
  type UnshownKeys,
  WorkspaceService,
} from './services/workspace-service.js';
import { DuckDBAnalyticsReader } from './store/duckdb-analytics-reader.js';
import { type Database, openDatabase } from './store/duckdb-database.js';
import { DuckDBEventStore } from './store/duckdb-event-store.js';
import { DuckDBFunnelStore } from './store/duckdb-funnel-store.js';
import { DuckDBIdentityStore } from './store/duckdb-identity-store.js';
import { DuckDBJourneyStore } from './store/duckdb-journey-store.js';
import { DuckDBJourneyTablesStore } from './store/duckdb-journey-tables-store.js';
import { DuckDBKpiStore } from './store/duckdb-kpi-store.js';
import { DuckDBLogLoadStore } from './store/duckdb-log-load-store.js';
import { DuckDBOverviewStore } from './store/duckdb-overview-store.js';
import { DuckDBPathsStore } from './store/duckdb-paths-store.js';
import { DuckDBWebhookStore } from './store/duckdb-webhook-store.js';
import { DuckDBWorkspaceStore } from './store/duckdb-workspace-store.js';
import { SegmentLog } from './store/segment-log.js';

/** Composition root: config → store → services → http, and the ordered shutdown. */

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms))),
};
const systemRandom: Random = { token: (bytes) => randomBytes(bytes).toString('base64url') };

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  /**
   * Keys to show the user: created on this start (the first of an empty data dir), or again when
   * an earlier start created them and stopped before `keysShown` was called.
   */
  createdKeys: IssuedKey[];
  /** The admin key in `createdKeys` replaces one an earlier start created and never showed. */
  keysReissued: boolean;
  /** Call once `createdKeys` are shown: the next start then shows none. */
  keysShown(): Promise<void>;
  /** Resolves when the background start-up (dedup index, log replay, identity catch-up) is done. */
  recovered: Promise<void>;
  /** Stops accepting, lets in-flight requests finish, loads what is logged, closes the database. */
  close(): Promise<void>;
}

/** How long a read waits for the loader and the identity pipeline to reach what was acknowledged. */
const READ_BARRIER_MS = 5_000;
const DELETE_BARRIER_MS = 60_000;

export async function startServer(config: Config): Promise<Result<RunningServer, string>> {
  const opened = await openDatabase(config.dataDir, { checkpointThreshold: config.checkpointThreshold });
  if (!opened.ok) return err(opened.error.message);
  const db = opened.value;
  const recoveryNotes: Array<[string, Record<string, unknown>]> = [];
  let log: SegmentLog;
  try {
    log = await SegmentLog.open({
      dir: logDirOf(config.dataDir),
      consumers: [LOADER, IDENTITY],
      keepConsumed: config.logRetention === 'keep',
      warn: (message, details) => recoveryNotes.push([message, details]),
      onError: (e) => app?.log.error({ err: e }, 'the ingest log reported a failure'),
    });
  } catch (e) {
    db.close();
    return err(`cannot open the ingest log: ${(e as Error).message}`);
  }

  const eventStore = new DuckDBEventStore(db.writer, db.reader);
  // Facts of a steady stream of small loads are extracted a few seconds' worth at a time.
  const loadStore = new DuckDBLogLoadStore(db.writer, {
    deferFacts: { seqs: 20_000, maxDelayMs: 5_000, now: () => systemClock.now() },
  });
  let app: FastifyInstance | undefined;
  const logError = (msg: string) => (e: Error) => app?.log.error({ err: e }, msg);
  const loader = new LogLoader(log, loadStore, systemClock, {
    minIntervalMs: LOAD_INTERVAL_MS,
    retryMs: 1000,
    onError: logError('loading the ingest log into DuckDB failed; retrying'),
  });
  // The person model's one-time back-fill reads stored events: it waits for the loader to hold
  // those still only in the log.
  const people = identityServices(db, async (seq) => {
    await loader.waitFor(Math.min(seq, log.head), 600_000);
  });
  const identityRunner = new ConsumerRunner(log, people.identity, systemClock, {
    retryMs: 1000,
    onError: (consumer, e, seq) =>
      app?.log.error({ err: e, consumer, afterSeq: seq }, 'log consumer failed; it retries from that record'),
  });
  people.identity.onPersisted = (seq) => log.checkpoint(IDENTITY, seq);
  people.identity.onFlushError = logError('writing identity rows failed; retrying');

  let ingest: IngestService | undefined;
  const metrics = createMetrics(() => ({
    pendingRows: ingest?.pendingRows ?? 0,
    dedupIds: ingest?.rememberedIds ?? 0,
    dedupBytes: ingest?.dedupBytes ?? 0,
    logBytes: log.bytesHeld,
    loadLagRows: loader.lagRows,
    loadLagSeconds: loader.lagMs / 1000,
    corruptSegments: loader.corruptSegments,
    consumerLagRows: { [IDENTITY]: identityRunner.lag },
    consumerFailures: { [IDENTITY]: identityRunner.failures },
    identityRegionTooLarge: people.identity.untrustedForRegionSize,
  }));
  ingest = new IngestService(log, systemClock, randomUUID, metrics.observer, {
    dedupWindowMs: config.dedupWindowDays * 86_400_000,
    maxPendingRows: config.maxPendingRows,
  });
  const workspaces = new WorkspaceService(new DuckDBWorkspaceStore(db.admin), systemClock, systemRandom);
  people.identity.onSuppress = (list) => running.suppress(list);
  const barrier = async (strict: boolean) => {
    const seq = log.head;
    const timeout = strict ? DELETE_BARRIER_MS : READ_BARRIER_MS;
    const [loaded, resolved] = await Promise.all([
      loader.waitFor(seq, timeout),
      people.identity.waitFor(seq, timeout),
    ]);
    if (strict && !(loaded && resolved))
      throw new Error(
        `the ingest log is not loaded up to seq ${seq} yet (${loader.problem ?? 'still loading'})`,
      );
  };
  people.identity.readBarrier = (o) => barrier(o?.strict ?? false);

  let journeyFile: JourneyFileSettings;
  try {
    journeyFile = readJourneyFile(config.journeyConfig);
  } catch (e) {
    await log.close();
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
  const journeyTables = journeyTablesOf(
    db,
    journeys,
    people.identity,
    () => loader.position,
    loadStore,
    (e, what) => app?.log.error({ err: e }, `${what} failed`),
  );
  const webhooks = new WebhookService(new DuckDBWebhookStore(db.admin), ingest, systemClock);
  const running = ingest;
  let startupProblem: string | null = null;
  const health = () => {
    const body = {
      status: running.accepting ? 'ok' : 'starting',
      version: VERSION,
      ...(startupProblem ? { problem: startupProblem } : {}),
      log: {
        head: log.head,
        loaded: loader.position,
        lagRows: loader.lagRows,
        lagMs: loader.lagMs,
        bytes: log.bytesHeld,
        ...(loader.problem ? { problem: loader.problem } : {}),
      },
      identity: {
        state: identityRunner.state,
        resolved: people.identity.position,
        lagRows: identityRunner.lag,
        ...(identityRunner.lastError ? { problem: identityRunner.lastError } : {}),
      },
      dedup: { ids: running.rememberedIds, ready: running.accepting },
      journeys: journeyTables.healthStatus(),
    };
    return { ready: running.accepting, body };
  };

  app = await createApp({
    ingest,
    workspaces,
    queries: new EventQueryService(eventStore, () => barrier(false)),
    identity: people.identity,
    persons: people.persons,
    personAdmin: people.admin,
    journeys,
    journeyTables,
    overview: new OverviewService(new DuckDBOverviewStore(db.reader), journeys, people.persons),
    funnels: new FunnelService(new DuckDBFunnelStore(db.reader), journeyTables, people.persons, systemClock),
    kpis: new KpiService(new DuckDBKpiStore(db.reader), journeyTables, journeys, systemClock),
    paths: new PathsService(new DuckDBPathsStore(db.reader), journeyTables, people.persons),
    stages: new StagesService(new DuckDBAnalyticsReader(db.reader), journeyTables, journeys, systemClock),
    retention: new RetentionService(new DuckDBAnalyticsReader(db.reader), journeyTables, systemClock),
    webhooks,
    metrics,
    version: VERSION,
    logger: { level: config.logLevel },
    trustProxy: config.trustProxy,
    limits: connectionLimits(config),
    ...(config.metricsToken ? { metricsToken: config.metricsToken } : {}),
    health,
    imports: {
      imports: new ImportService(ingest, systemClock, randomUUID, storedIdsOf(eventStore)),
      accepting: () => running.accepting,
      loaded: async () => {
        await loader.waitFor(log.head, 600_000);
      },
    },
    liveEvents: (listener) =>
      log.onDurable((records) => {
        const events: StoredEvent[] = [];
        for (const r of records) if (r.kind === 'event') events.push(r.event);
        if (events.length > 0) listener(events);
      }),
  });
  for (const [message, details] of recoveryNotes) app.log.warn(details, message);

  let newKeys: FirstRunKeys | null = null;
  const unshown = unshownKeysFile(config.dataDir);
  try {
    // Keys are created only once the port is ours: a start that cannot listen creates none.
    await workspaces.load();
    await journeys.start();
    await webhooks.start();
    try {
      await app.listen({ port: config.port, host: config.host });
    } catch (e) {
      throw new Error(listenProblem(e as NodeJS.ErrnoException, config));
    }
    newKeys = await workspaces.firstRunKeys(
      {
        ...(config.writeKey ? { writeKey: config.writeKey } : {}),
        ...(config.adminKey ? { adminKey: config.adminKey } : {}),
      },
      unshown,
    );
  } catch (e) {
    await app.close().catch(() => undefined);
    await log.close();
    db.close();
    return err(`start-up failed: ${(e as Error).message}`);
  }

  // Start-up never waits: the server listens at once; the deduplication index, the loader's
  // replay of unloaded segments and the identity catch-up run now, with progress in /health.
  const served = app;
  const recovered = (async () => {
    const loadedSeq = await loadStore.loadedSeq();
    const storedMaxSeq = await eventStore.maxSeq();
    const remembered = await startCollector(running, {
      log,
      eventStore,
      identity: people.identity,
      loadedSeq,
      storedMaxSeq,
      windowMs: config.dedupWindowDays * 86_400_000,
    });
    served.log.info(
      { seq: remembered.seq, dedupIds: remembered.remembered, database: db.path },
      'ingest ready',
    );
    await loader.start();
    const graph = await people.identity.start();
    const legacy = await people.identity.catchUpFromStore(storeOnlyUpTo(log, storedMaxSeq));
    identityRunner.start();
    await identityRunner.caughtUp();
    served.log.info(
      { ...graph, caughtUpFromStore: legacy, replayedTo: people.identity.position },
      'identity graph ready',
    );
    await journeyTables.start({ catchUpEveryMs: JOURNEY_CATCH_UP_MS });
  })().catch((e: unknown) => {
    startupProblem = `start-up recovery failed: ${(e as Error).message}`;
    served.log.error({ err: e }, 'start-up recovery failed');
  });

  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return ok({
    url: `http://${host}:${port}`,
    app,
    createdKeys: newKeys?.keys ?? [],
    keysReissued: newKeys?.reissued ?? false,
    keysShown: () => unshown.clear(),
    recovered,
    close: async () => {
      await served.close();
      await recovered;
      // Load what is logged, so a clean stop leaves nothing behind to replay.
      await log.close();
      await loader.stop();
      identityRunner.stop();
      await people.identity.drain();
      await journeyTables.stop();
      await eventStore.close();
      db.close();
    },
  });
}

/**
 * The collector's start: the identity rules (which identifiers an event carries), the
 * suppression list, the sequence after the log and the store, and the ids received within the
 * window (stored, or only logged).
 */
async function startCollector(
  collector: IngestService,
  from: {
    log: SegmentLog;
    eventStore: DuckDBEventStore;
    identity: IdentityService;
    loadedSeq: number;
    storedMaxSeq: number;
    windowMs: number;
  },
) {
  await from.identity.loadRules();
  collector.rulesOf = (workspaceId) => from.identity.compiledRulesOf(workspaceId);
  return collector.start({
    storedMaxSeq: from.storedMaxSeq,
    suppressions: await from.identity.loadSuppressions(),
    remember: receivedHistory(from.eventStore, from.log, from.loadedSeq, systemClock.now() - from.windowMs),
  });
}

/**
 * The last seq only the database holds (written before the ingest log existed): everything
 * identity has not resolved is otherwise still in the log, which keeps it until identity has it.
 */
const storeOnlyUpTo = (log: SegmentLog, storedMaxSeq: number) =>
  log.tail > log.head ? storedMaxSeq : log.tail - 1;

/** Imports deduplicate against every id a workspace holds, not only those of the window. */
const storedIdsOf =
  (store: DuckDBEventStore): StoredIds =>
  (workspaceId) =>
  (onId) =>
    store.loadFingerprints(0, onId, workspaceId);

/** A listen error, with what to change: the port or address comes from flags or the environment. */
function listenProblem(e: NodeJS.ErrnoException, config: Config): string {
  const other = 'Choose another port with --port <port> or THROUGHLINE_PORT=<port>.';
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${config.port} on ${config.host} is already in use (EADDRINUSE): is another server running there? ${other}`;
    case 'EACCES':
      return `no permission to listen on port ${config.port} (EACCES; ports below 1024 need privileges). ${other}`;
    case 'EADDRNOTAVAIL':
      return `this machine has no address ${config.host} (EADDRNOTAVAIL). Choose another with --host <address> or THROUGHLINE_HOST=<address>.`;
    default:
      return `cannot listen on ${config.host}:${config.port}: ${e.message}`;
  }
}

/** The ids (no secrets) of first-run keys not shown yet: `<data>/keys-not-shown.json`. */
function unshownKeysFile(dataDir: string): UnshownKeys {
  const path = join(dataDir, 'keys-not-shown.json');
  return {
    read: async () => {
      const text = await readFile(path, 'utf8').catch(() => null);
      if (text === null) return null;
      try {
        return JSON.parse(text) as Awaited<ReturnType<UnshownKeys['read']>>;
      } catch {
        return null;
      }
    },
    write: async (ids) => {
      // Durable before the keys are committed: written to a side file, synced, renamed.
      const tmp = `${path}.tmp`;
      const file = await open(tmp, 'w');
      try {
        await file.writeFile(`${JSON.stringify(ids)}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, path);
    },
    clear: () => rm(path, { force: true }),
  };
}

/** Where the ingest log of a data directory lives. */
export const logDirOf = (dataDir: string) => join(dataDir, 'log');

/** Loads start at least this far apart under load, so each takes a large batch. */
const LOAD_INTERVAL_MS = 500;

/** Identity rows are written at most this often: each write is a DuckDB transaction with a WAL sync. */
const IDENTITY_FLUSH_MS = 200;
/** How often the journey tables take in what was loaded and what identity changed. */
const JOURNEY_CATCH_UP_MS = 1_000;

/**
 * The journey tables' builder: rebuilt when settings change, kept current with what the loader
 * and the identity pipeline have both written.
 */
function journeyTablesOf(
  db: Database,
  journeys: JourneyService,
  identity: IdentityService,
  loaded: () => number,
  facts: DuckDBLogLoadStore,
  onError: (e: Error, what: string) => void,
): JourneyTablesService {
  const tables = new JourneyTablesService({
    store: new DuckDBJourneyTablesStore(db.journeys, db.reader),
    journeys,
    readyTo: () => Math.min(loaded(), identity.persistedSeq),
    flushIdentity: () => identity.flush(),
    factsTo: () => facts.factsPosition,
    flushFacts: (o) => facts.flushFacts(o),
    onError,
    clock: systemClock,
  });
  identity.onChange((changes) => tables.personsChanged(changes));
  journeys.readFromTables(tables);
  journeys.onSettingsChanged((ws) => {
    tables.rebuild(ws).catch((e: Error) => onError(e, `rebuilding the journeys of ${ws}`));
  });
  return tables;
}

/** The journey settings file (`--journey-config`), if any. */
function readJourneyFile(path: string | undefined): JourneyFileSettings {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as JourneyFileSettings;
  } catch (e) {
    throw new Error(`cannot read the journey config ${path}: ${(e as Error).message}`);
  }
}

function identityServices(db: Database, eventsLoaded?: (seq: number) => Promise<void>) {
  const store = new DuckDBIdentityStore(db.identity, db.reader);
  const identity = new IdentityService(store, systemClock, {
    flushIntervalMs: IDENTITY_FLUSH_MS,
    ...(eventsLoaded ? { eventsLoaded } : {}),
  });
  const persons = new PersonService(identity, store);
  const admin = new PersonAdminService(identity, persons, store, systemClock, randomUUID);
  return { identity, persons, admin };
}

/** Opens the data directory directly, for CLI commands run while no server holds it. */
export async function openLocal(
  dataDir: string,
): Promise<Result<LocalStore, { locked: boolean; message: string }>> {
  // A command shares the machine with whatever else runs: DuckDB keeps to a bounded buffer.
  const opened = await openDatabase(dataDir, {
    memoryLimit: process.env.THROUGHLINE_DUCKDB_MEMORY ?? '512MB',
  });
  if (!opened.ok) return err({ locked: opened.error.code === 'locked', message: opened.error.message });
  const db: Database = opened.value;
  let log: SegmentLog;
  try {
    log = await SegmentLog.open({
      dir: logDirOf(dataDir),
      consumers: [LOADER, IDENTITY],
      warn: (message, details) =>
        process.stderr.write(`throughline: ${message} ${JSON.stringify(details)}\n`),
    });
  } catch (e) {
    db.close();
    return err({ locked: false, message: `cannot open the ingest log: ${(e as Error).message}` });
  }
  const workspaces = new WorkspaceService(new DuckDBWorkspaceStore(db.admin), systemClock, systemRandom);
  const eventStore = new DuckDBEventStore(db.writer, db.reader);
  const loadStore = new DuckDBLogLoadStore(db.writer);
  const loader = new LogLoader(log, loadStore, systemClock, { minIntervalMs: 0, retryMs: 0 });
  const people = identityServices(db);
  /** Loads everything logged; with `during`, loads while it runs (DuckDB on the other core). */
  const loadAll = async (during?: () => Promise<void>) => {
    await loader.start();
    try {
      await during?.();
    } finally {
      await loader.stop();
    }
    if (loader.problem) throw new Error(loader.problem);
  };
  const loaded = once(() => loadAll());
  return ok({
    workspaces,
    /** The collector on this directory's log, with its deduplication index filled. */
    importer: once(async () => {
      const collector = new IngestService(log, systemClock, randomUUID, NO_OBSERVER, {
        dedupWindowMs: DEFAULTS.dedupWindowDays * 86_400_000,
        maxPendingRows: Number.POSITIVE_INFINITY,
      });
      // Identity keeps the log until it has resolved it (at the server's next start).
      log.checkpoint(IDENTITY, await people.identity.storedPosition());
      await startCollector(collector, {
        log,
        eventStore,
        identity: people.identity,
        loadedSeq: await loadStore.loadedSeq(),
        storedMaxSeq: await eventStore.maxSeq(),
        windowMs: DEFAULTS.dedupWindowDays * 86_400_000,
      });
      return {
        imports: new ImportService(collector, systemClock, randomUUID, storedIdsOf(eventStore)),
        run: loadAll,
        loadedSeq: () => loader.position,
        head: () => log.head,
      };
    }),
    /** The identity graph, caught up with everything logged and stored (the first call loads it). */
    people: once(async () => {
      await loaded();
      await people.identity.start();
      const storedMaxSeq = await eventStore.maxSeq();
      await people.identity.catchUpFromStore(storeOnlyUpTo(log, storedMaxSeq));
      await log.read(people.identity.position, (records) => people.identity.handle(records));
      await people.identity.flush();
      log.checkpoint(IDENTITY, people.identity.persistedSeq);
      const journeys = new JourneyService(
        new DuckDBJourneyStore(db.writer, db.reader),
        people.identity,
        people.persons,
        systemClock,
        readJourneyFile(process.env.THROUGHLINE_JOURNEY_CONFIG),
      );
      await journeys.start();
      const journeyTables = journeyTablesOf(
        db,
        journeys,
        people.identity,
        () => loader.position,
        loadStore,
        (e, what) => process.stderr.write(`throughline: ${what} failed: ${e.message}\n`),
      );
      // Commands read journeys from the tables when they are current; they never build them in
      // the background (`journeys rebuild` does, in the foreground). Persons whose identity changed
      // unseen are derived again before a read answers.
      await journeyTables.load();
      await journeyTables.findStale();
      const kpis = new KpiService(new DuckDBKpiStore(db.reader), journeyTables, journeys, systemClock);
      const funnels = new FunnelService(
        new DuckDBFunnelStore(db.reader),
        journeyTables,
        people.persons,
        systemClock,
      );
      const paths = new PathsService(new DuckDBPathsStore(db.reader), journeyTables, people.persons);
      const analytics = new DuckDBAnalyticsReader(db.reader);
      return {
        ...people,
        journeys,
        journeyTables,
        funnels,
        kpis,
        paths,
        stages: new StagesService(analytics, journeyTables, journeys, systemClock),
        retention: new RetentionService(analytics, journeyTables, systemClock),
      };
    }),
    close: async () => {
      await people.identity.drain();
      await log.close();
      await eventStore.close();
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
