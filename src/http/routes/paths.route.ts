import type { FastifyInstance } from 'fastify';
import { parsePathPeopleQuery, parsePathQuery } from '../../core/analytics/paths.js';
import type { PathsService } from '../../services/paths-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  paths: PathsService;
}

// The body is validated by zod in core (parsePathQuery), which names the path of a mistake.
const body = { type: 'object', additionalProperties: true, description: 'see docs/api.md "Journey maps"' };

/** Journey maps: Sankey nodes and edges, and the people behind a node, edge or drop-off. */
export async function pathsRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const security = [{ adminKey: [] }];
  app.post<{ Body: unknown }>(
    '/api/analytics/paths',
    {
      schema: {
        tags: ['Analytics'],
        security,
        summary:
          'A journey map: the paths persons take through events, pages, stages or channels, as Sankey nodes and edges (unique persons by default)',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const q = parsePathQuery(request.body);
      if (!q.ok)
        return sendError(reply, 'invalid_query', `${q.error.path}: ${q.error.message}`, {
          field: q.error.path,
        });
      return deps.paths.paths(request.workspaceId!, q.value);
    },
  );

  app.post<{ Body: unknown }>(
    '/api/analytics/paths/people',
    {
      schema: {
        tags: ['Analytics'],
        security,
        summary:
          'The persons (or accounts) behind a journey map node, edge or drop-off: the same query plus node, edge or dropOff; paginated',
        body,
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const q = parsePathPeopleQuery(request.body);
      if (!q.ok)
        return sendError(reply, 'invalid_query', `${q.error.path}: ${q.error.message}`, {
          field: q.error.path,
        });
      return deps.paths.actors(request.workspaceId!, q.value);
    },
  );
}
