import type { FastifyInstance } from 'fastify';
import { identityRulesSchema } from '../../core/identity/identity-rules.js';
import type { IdentityService } from '../../services/identity-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

/** The workspace's identity rules: limits, priority, blocked values, custom identifiers. */
export async function identitySettingsRoutes(
  app: FastifyInstance,
  deps: { identity: IdentityService },
): Promise<void> {
  const tags = ['Identity'];
  const security = [{ adminKey: [] }];
  app.get(
    '/api/identity/settings',
    { schema: { tags, security, summary: 'Identity resolution rules in force' } },
    async (request) => deps.identity.rulesOf(request.workspaceId!),
  );

  app.put<{ Body: unknown }>(
    '/api/identity/settings',
    {
      schema: {
        tags,
        security,
        summary: 'Replace the rules; persons are re-derived from the identity log under them',
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const parsed = identityRulesSchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
        const first = issues[0];
        return sendError(
          reply,
          'invalid_body',
          `identity settings: ${first ? `${first.field || '(body)'}: ${first.message}` : 'invalid'}`,
          { issues },
        );
      }
      await deps.identity.setRules(request.workspaceId!, parsed.data);
      return deps.identity.rulesOf(request.workspaceId!);
    },
  );
}
