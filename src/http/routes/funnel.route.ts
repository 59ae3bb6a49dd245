import type { FastifyInstance } from 'fastify';
import type { FunnelService } from '../../services/funnel-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  funnels: FunnelService;
}

// The body is validated in core (funnel-query.ts), which names the path of each problem
// (`steps[2].where.field`); the route only passes it on.
const body = { type: 'object', description: 'A funnel query: see docs/analytics.md' };

/** Funnels and the people at each of their steps. */
export async function funnelRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  app.post(
    '/api/analytics/funnel',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary:
          'A funnel over event time: counts, conversion, drop-off and time to convert per step, the time-to-convert histogram, breakdown rows (PostHog semantics)',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.funnels.funnel(request.workspaceId!, request.body);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );

  app.post(
    '/api/analytics/funnel/people',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary:
          'The persons (accounts, sessions) who reached a step of a funnel, or dropped right after it: the funnel query plus { step, dropped, breakdownValue, limit, cursor }',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.funnels.funnelPeople(request.workspaceId!, request.body);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );
}
