import type { FastifyInstance } from 'fastify';
import type { RetentionService } from '../../services/retention-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  retention: RetentionService;
}

// Validated in core (retention-query.ts), which names the path of each problem.
const body = { type: 'object', description: 'A retention query: see docs/api.md' };

/** Retention cohorts, churn and activation. */
export async function retentionRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  app.post(
    '/api/analytics/retention',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary:
          'Retention cohorts by hour, day, week or month (recurring or first-time; values[0] the cohort size), churn by period and an activation rate (PostHog semantics)',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.retention.retention(request.workspaceId!, request.body);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );
}
