import type { FastifyInstance } from 'fastify';
import type { WorkspaceService } from '../../services/workspace-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

const keySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    workspaceId: { type: 'string' },
    kind: { type: 'string', enum: ['write', 'admin'] },
    key: { type: 'string', description: 'write keys in full; admin keys only by their first characters' },
    label: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    revokedAt: { type: ['string', 'null'] },
  },
} as const;

/** Key management for the admin key's own workspace (the CLI uses these while a server holds the database). */
export async function keysRoutes(
  app: FastifyInstance,
  deps: { workspaces: WorkspaceService },
): Promise<void> {
  app.get(
    '/api/keys',
    {
      schema: {
        tags: ['Keys'],
        summary: "List this workspace's keys",
        security: [{ adminKey: [] }],
        response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } },
      },
    },
    async (request, reply) => {
      // Write keys are listed whole: no cache may keep the answer.
      reply.header('cache-control', 'no-store');
      return { keys: await deps.workspaces.listKeys(request.workspaceId!) };
    },
  );

  app.post<{ Body: { kind: 'write' | 'admin'; label?: string } }>(
    '/api/keys',
    {
      schema: {
        tags: ['Keys'],
        summary: 'Create a key; the secret is shown only in this response',
        security: [{ adminKey: [] }],
        body: {
          type: 'object',
          required: ['kind'],
          additionalProperties: false,
          properties: {
            kind: { type: 'string', enum: ['write', 'admin'] },
            label: { type: 'string', maxLength: 200 },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              workspaceId: { type: 'string' },
              kind: { type: 'string' },
              secret: { type: 'string' },
            },
          },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request, reply) => {
      const key = await deps.workspaces.createKey(
        request.workspaceId!,
        request.body.kind,
        request.body.label,
      );
      return reply.code(201).send(key);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/keys/:id',
    {
      schema: {
        tags: ['Keys'],
        summary: 'Revoke a key (it stops working at once)',
        security: [{ adminKey: [] }],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: {
          200: { type: 'object', properties: { revoked: { type: 'string' } } },
          ...errorResponses(404),
        },
      },
    },
    async (request, reply) => {
      const done = await deps.workspaces.revokeKey(request.workspaceId!, request.params.id);
      if (!done) return sendError(reply, 'not_found', `no active key ${request.params.id} in this workspace`);
      return { revoked: request.params.id };
    },
  );
}
