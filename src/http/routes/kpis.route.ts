import type { FastifyInstance } from 'fastify';
import { KPI_METRICS } from '../../core/analytics/kpi-query.js';
import type { KpiService } from '../../services/kpi-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  kpis: KpiService;
}

// The query string is validated in core (kpi-query.ts), which names the parameter at fault.
const querystring = {
  type: 'object',
  description:
    'from, to, timezone, stage, churnStages, churnEvents, signupEvents, activationEvents, activationDays, grossMargin, bucket: see docs/metrics.md',
};

/** The journey KPIs (docs/metrics.md): all of them at once, or one. */
export async function kpiRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  app.get(
    '/api/kpis',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary:
          'Every journey KPI over a range (default: the last 30 days): value, unit, formula, the counts used, or null with the reason an input is missing',
        querystring,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.kpis.all(request.workspaceId!, request.query);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );

  app.get<{ Params: { metric: string } }>(
    '/api/kpis/:metric',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary: `One journey KPI: ${KPI_METRICS.join(', ')}`,
        querystring,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.kpis.one(request.workspaceId!, request.params.metric, request.query);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );
}
