import './fastify-augment.js';
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import type { StoredEvent } from '../core/spec/message.js';
import type { EventQueryService } from '../services/event-query-service.js';
import type { FunnelService } from '../services/funnel-service.js';
import type { IdentityService } from '../services/identity-service.js';
import type { IngestService } from '../services/ingest-service.js';
import type { JourneyService } from '../services/journey-service.js';
import type { JourneyTablesService } from '../services/journey-tables-service.js';
import type { KpiService } from '../services/kpi-service.js';
import type { OverviewService } from '../services/overview-service.js';
import type { PathsService } from '../services/paths-service.js';
import type { PersonAdminService } from '../services/person-admin-service.js';
import type { PersonService } from '../services/person-service.js';
import type { RetentionService } from '../services/retention-service.js';
import type { StagesService } from '../services/stages-service.js';
import type { WebhookService } from '../services/webhook-service.js';
import type { WorkspaceService } from '../services/workspace-service.js';
import { adminAuth, sameSecret } from './admin-auth.js';
import { type ConnectionLimits, installRequestDeadline, limitedServer } from './connection-limits.js';
import { DashboardSessions } from './dashboard-sessions.js';
import { installErrorHandling, sendError } from './errors.js';
import type { Metrics } from './metrics.js';
import { accountsRoutes } from './routes/accounts.route.js';
import { dashboardRoutes } from './routes/dashboard.route.js';
import { eventsRoutes } from './routes/events.route.js';
import { funnelRoutes } from './routes/funnel.route.js';
import { identitySettingsRoutes } from './routes/identity-settings.route.js';
import { type ImportDeps, importRoutes } from './routes/import.route.js';
import { journeyRoutes } from './routes/journey.route.js';
import { keysRoutes } from './routes/keys.route.js';
import { kpiRoutes } from './routes/kpis.route.js';
import { liveEventsRoutes } from './routes/live-events.route.js';
import { overviewRoutes } from './routes/overview.route.js';
import { pathsRoutes } from './routes/paths.route.js';
import { personsRoutes } from './routes/persons.route.js';
import { retentionRoutes } from './routes/retention.route.js';
import { sessionRoutes } from './routes/session.route.js';
import { settingsRoutes } from './routes/settings.route.js';
import { stagesRoutes } from './routes/stages.route.js';
import { trackingRoutes } from './routes/tracking.route.js';
import { stripeWebhookRoutes, webhookSettingsRoutes } from './routes/webhooks.route.js';
import { bearerToken } from './write-key-auth.js';

export interface AppDeps {
  ingest: IngestService;
  workspaces: WorkspaceService;
  queries: EventQueryService;
  identity: IdentityService;
  persons: PersonService;
  personAdmin: PersonAdminService;
  journeys: JourneyService;
  journeyTables: JourneyTablesService;
  overview: OverviewService;
  funnels: FunnelService;
  kpis: KpiService;
  paths: PathsService;
  stages: StagesService;
  retention: RetentionService;
  webhooks: WebhookService;
  metrics: Metrics;
  version: string;
  logger: FastifyServerOptions['logger'];
  /** Trust X-Forwarded-For from these proxies (Fastify `trustProxy`): true or addresses/CIDRs. */
  trustProxy: boolean | string[];
  /** Readiness and pipeline progress; /health answers 503 until ready (the collector accepts). */
  health(): { ready: boolean; body: object };
  /** Bulk imports through the API (`POST /api/import`). */
  imports: ImportDeps;
  /** Subscribes to events as they become durable (the live stream). */
  liveEvents(listener: (events: StoredEvent[]) => void): () => void;
  /** Deadlines and the per-address connection cap; Node's defaults when absent (tests of routes). */
  limits?: ConnectionLimits;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Dashboard sign-ins (a new store when absent). */
  sessions?: DashboardSessions;
  /** Where the built dashboard is (default: dist/web beside the server). */
  webRoot?: string;
}

/** Builds the HTTP application without listening, so tests and main.ts share it. */
export async function createApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: deps.logger,
    trustProxy: deps.trustProxy,
    genReqId: () => randomUUID(),
    // Per-request logs would cost more than the ingest itself at tens of thousands of requests a second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    // SDK keep-alive connections must not hold shutdown open.
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false, useDefaults: true } },
    ...(deps.limits ? { serverFactory: limitedServer(deps.limits) } : {}),
  });
  app.decorateRequest('workspaceId', undefined);
  app.decorateRequest('stillAuthorized', undefined);
  installErrorHandling(app);
  if (deps.limits) installRequestDeadline(app, deps.limits);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Throughline API',
        version: deps.version,
        description:
          'Segment-compatible Tracking API (/v1, write key) and the admin API (/api, Bearer admin key). See docs/api.md.',
      },
      components: {
        securitySchemes: {
          writeKeyBasic: {
            type: 'http',
            scheme: 'basic',
            description: 'write key as user name, empty password',
          },
          writeKeyHeader: { type: 'apiKey', in: 'header', name: 'X-Write-Key' },
          adminKey: { type: 'http', scheme: 'bearer', description: 'admin key' },
        },
      },
    },
  });
  // Browsers send analytics.js calls cross-origin: reflect the caller's origin.
  await app.register(cors, { origin: true, methods: ['GET', 'POST', 'DELETE', 'OPTIONS'], maxAge: 86_400 });

  app.get('/health', { schema: { tags: ['Operations'], summary: 'Readiness' } }, async (_req, reply) => {
    const h = deps.health();
    return reply.code(h.ready ? 200 : 503).send(h.body);
  });
  app.get(
    '/metrics',
    { schema: { tags: ['Operations'], summary: 'Prometheus metrics' } },
    async (request, reply) => {
      if (deps.metricsToken !== undefined) {
        const token = bearerToken(request);
        if (token === undefined)
          return sendError(reply, 'missing_key', 'send the metrics token as "Authorization: Bearer <token>"');
        if (!sameSecret(token, deps.metricsToken))
          return sendError(reply, 'invalid_key', 'the metrics token is not valid');
      }
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  );
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(trackingRoutes, {
    ingest: deps.ingest,
    keyRing: deps.workspaces.keyRing,
    retryAfterSeconds: 1,
  });
  await app.register(settingsRoutes, { keyRing: deps.workspaces.keyRing });
  await app.register(stripeWebhookRoutes, { webhooks: deps.webhooks });

  const sessions = deps.sessions ?? new DashboardSessions();
  await app.register(cookie);
  await app.register(sessionRoutes, { keyRing: deps.workspaces.keyRing, sessions });
  await app.register(dashboardRoutes, deps.webRoot ? { root: deps.webRoot } : {});

  await app.register(async (api) => {
    api.addHook('onRequest', adminAuth(deps.workspaces.keyRing, sessions));
    await api.register(eventsRoutes, { queries: deps.queries });
    await api.register(liveEventsRoutes, {
      subscribe: deps.liveEvents,
      heartbeatMs: 15_000,
    });
    await api.register(keysRoutes, { workspaces: deps.workspaces });
    await api.register(personsRoutes, { persons: deps.persons, admin: deps.personAdmin });
    await api.register(accountsRoutes, { persons: deps.persons });
    await api.register(identitySettingsRoutes, { identity: deps.identity });
    await api.register(journeyRoutes, {
      persons: deps.persons,
      journeys: deps.journeys,
      journeyTables: deps.journeyTables,
    });
    await api.register(overviewRoutes, { overview: deps.overview, health: deps.health });
    await api.register(funnelRoutes, { funnels: deps.funnels });
    await api.register(kpiRoutes, { kpis: deps.kpis });
    await api.register(pathsRoutes, { paths: deps.paths });
    await api.register(stagesRoutes, { stages: deps.stages });
    await api.register(retentionRoutes, { retention: deps.retention });
    await api.register(webhookSettingsRoutes, { webhooks: deps.webhooks });
    await api.register(importRoutes, deps.imports);
  });

  return app;
}
