import type { FastifyInstance } from 'fastify';
import type { StagesService } from '../../services/stages-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  stages: StagesService;
}

// Validated in core (stages-query.ts), which names the path of each problem.
const body = { type: 'object', description: 'A stage analytics query: see docs/api.md' };

/** Stage analytics over the stored stage histories. */
export async function stagesRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  app.post(
    '/api/analytics/stages',
    {
      schema: {
        tags: ['Analytics'],
        security: [{ adminKey: [] }],
        summary:
          'Stage flow of persons or accounts: transition matrix (regressions and skips flagged), conversion and time between stages, time in stage, drop-off, velocity by entry month',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const r = await deps.stages.stages(request.workspaceId!, request.body);
      if (!r.ok) return sendError(reply, 'invalid_query', r.error.message, { field: r.error.field });
      return r.value;
    },
  );
}
