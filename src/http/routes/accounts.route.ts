import type { FastifyInstance } from 'fastify';
import { toSegmentShape } from '../../core/spec/segment-shape.js';
import type { PersonService } from '../../services/person-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';
import { type ListQuerystring, listOptionsOf, listQuery, timelineQuery } from './persons.route.js';

const idParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'the groupId' } },
} as const;

/** Accounts (companies, groups): traits from group calls, member persons, one timeline across members. */
export async function accountsRoutes(app: FastifyInstance, deps: { persons: PersonService }): Promise<void> {
  const tags = ['Accounts'];
  const security = [{ adminKey: [] }];

  app.get<{ Querystring: ListQuerystring }>(
    '/api/accounts',
    {
      schema: {
        tags,
        security,
        summary:
          "Accounts: all or those matching filters (id or trait text, trait values, last activity, current stage, members' channels touched), by last or first activity, paginated",
        querystring: listQuery(100, 'text in the account id (groupId) or a current trait', 'account'),
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const o = listOptionsOf(request.query);
      if (!o.ok) return sendError(reply, 'invalid_query', o.error.message, { field: o.error.field });
      const page = await deps.persons.accounts(request.workspaceId!, o.value);
      if (!page.ok) return sendError(reply, 'invalid_query', page.error, { field: 'cursor' });
      return { accounts: page.value.items, total: page.value.total, nextCursor: page.value.nextCursor };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/accounts/:id',
    {
      schema: {
        tags,
        security,
        summary: 'An account: traits, members, activity',
        params: idParam,
        response: errorResponses(401, 404),
      },
    },
    async (request, reply) => {
      const a = await deps.persons.account(request.workspaceId!, request.params.id);
      if (!a.ok) return sendError(reply, 'not_found', a.error);
      return a.value;
    },
  );

  app.get<{ Params: { id: string }; Querystring: { cursor?: string; limit: number; order: 'asc' | 'desc' } }>(
    '/api/accounts/:id/timeline',
    {
      schema: {
        tags,
        security,
        summary: "Every member's events and the events tagged with the account, by event time",
        params: idParam,
        querystring: timelineQuery,
        response: errorResponses(400, 401, 404),
      },
    },
    async (request, reply) => {
      const ws = request.workspaceId!;
      const members = deps.persons.accountIdentifiers(ws, request.params.id);
      if (!members.ok) return sendError(reply, 'not_found', members.error);
      const page = await deps.persons.timeline(members.value, request.query, {
        workspaceId: ws,
        groupId: request.params.id,
      });
      if (!page.ok) return sendError(reply, 'invalid_query', page.error, { field: 'cursor' });
      return {
        account: request.params.id,
        events: page.value.events.map(toSegmentShape),
        nextCursor: page.value.nextCursor,
      };
    },
  );
}
