import type { FastifyInstance, FastifyReply } from 'fastify';
import { RuleError } from '../../core/journey/conditions.js';
import { journeyView } from '../../core/journey/journey-view.js';
import { err, ok, type Result } from '../../core/result.js';
import { parseTimestamp } from '../../core/spec/timestamp.js';
import type { JourneyService } from '../../services/journey-service.js';
import type { JourneyTablesService } from '../../services/journey-tables-service.js';
import type { PersonService } from '../../services/person-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

const journeyQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 5000, default: 500, description: 'steps per page' },
    offset: { type: 'integer', minimum: 0, default: 0, description: 'first step to return' },
    includeBots: {
      type: 'boolean',
      default: false,
      description: 'keep bot traffic (flagged) in the journey',
    },
    asOf: {
      type: 'string',
      description:
        'evaluate inactivity as of this time (default now); ISO-8601 date or date-time, UTC when it has no zone',
    },
  },
} as const;

type JourneyQuery = { limit: number; offset: number; includeBots: boolean; asOf?: string };

interface Deps {
  persons: PersonService;
  journeys: JourneyService;
  journeyTables: JourneyTablesService;
}

/** Journeys of persons and accounts, and the workspace's journey settings. */
export async function journeyRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const security = [{ adminKey: [] }];
  /** `asOf` read by the one timestamp parser (no zone = UTC), as journey options. */
  const asOfOf = (q: JourneyQuery): Result<{ asOf?: number }, string> => {
    if (q.asOf === undefined) return ok({});
    const t = parseTimestamp(q.asOf);
    return t.ok
      ? ok({ asOf: t.value })
      : err(`asOf: ${t.error} (e.g. 2026-06-30 or 2026-06-30T12:00:00Z; no zone = UTC)`);
  };

  app.get<{ Params: { ref: string }; Querystring: JourneyQuery }>(
    '/api/persons/:ref/journey',
    {
      schema: {
        tags: ['Persons'],
        security,
        summary: 'The timeline as a journey: touchpoints and channels, sessions, lifecycle stage history',
        params: { type: 'object', required: ['ref'], properties: { ref: { type: 'string' } } },
        querystring: journeyQuery,
        response: errorResponses(400, 401, 404),
      },
    },
    async (request, reply) => {
      const ws = request.workspaceId!;
      const q = request.query;
      const asOf = asOfOf(q);
      if (!asOf.ok) return sendError(reply, 'invalid_query', asOf.error, { field: 'asOf' });
      const p = await deps.persons.resolve(ws, request.params.ref);
      if (!p.ok) return sendError(reply, 'not_found', p.error, { ref: request.params.ref });
      const j = await deps.journeys.personJourney(ws, p.value, { includeBots: q.includeBots, ...asOf.value });
      return {
        person: p.value.personId,
        ...(p.value.redirectedFrom ? { redirectedFrom: p.value.redirectedFrom } : {}),
        ...journeyView(j, q),
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: JourneyQuery }>(
    '/api/accounts/:id/journey',
    {
      schema: {
        tags: ['Accounts'],
        security,
        summary:
          "The account's journey: every member's events and the account's own (deals), with the account stage",
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
        querystring: journeyQuery,
        response: errorResponses(400, 401, 404),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const asOf = asOfOf(q);
      if (!asOf.ok) return sendError(reply, 'invalid_query', asOf.error, { field: 'asOf' });
      const j = await deps.journeys.accountJourney(request.workspaceId!, request.params.id, {
        includeBots: q.includeBots,
        ...asOf.value,
      });
      if (!j.ok) return sendError(reply, 'not_found', j.error);
      return { account: request.params.id, ...journeyView(j.value, q) };
    },
  );

  app.get(
    '/api/journey/settings',
    {
      schema: {
        tags: ['Journey'],
        security,
        summary: 'Journey settings in force (channels, stages, sessions) and their source',
      },
    },
    async (request) => deps.journeys.settingsOf(request.workspaceId!),
  );

  app.get(
    '/api/journey/rules',
    {
      schema: {
        tags: ['Journey'],
        security,
        summary: 'The effective channel rules (in order) and stage model',
      },
    },
    async (request) => deps.journeys.rulesOf(request.workspaceId!),
  );

  app.put<{ Body: unknown }>(
    '/api/journey/settings',
    {
      schema: {
        tags: ['Journey'],
        security,
        summary: "Replace the workspace's journey settings; applies to every journey read from now on",
        response: errorResponses(400, 401),
      },
    },
    async (request, reply: FastifyReply) => {
      try {
        await deps.journeys.setSettings(request.workspaceId!, request.body ?? {});
      } catch (e) {
        if (e instanceof RuleError) return sendError(reply, 'invalid_body', `journey settings: ${e.message}`);
        throw e;
      }
      return deps.journeys.settingsOf(request.workspaceId!);
    },
  );

  app.get(
    '/api/journey/build',
    {
      schema: {
        tags: ['Journey'],
        security,
        summary:
          "Whether the workspace's journey tables (sessions, touchpoints, stage history) are built from its current settings, and the builder's progress",
      },
    },
    async (request) => ({
      current: deps.journeyTables.isCurrent(request.workspaceId!),
      builder: deps.journeyTables.statusOf(request.workspaceId!),
    }),
  );

  app.post(
    '/api/journey/rebuild',
    {
      schema: {
        tags: ['Journey'],
        security,
        summary:
          "Rebuild the workspace's journey tables in the background (202); progress in GET /api/journey/build and /health",
      },
    },
    async (request, reply: FastifyReply) => {
      const ws = request.workspaceId!;
      deps.journeyTables
        .rebuild(ws, { full: true })
        .catch((e: unknown) => request.log.error({ err: e }, 'journey rebuild failed'));
      return reply.code(202).send({ accepted: true, builder: deps.journeyTables.statusOf(ws) });
    },
  );
}
