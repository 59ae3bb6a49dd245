import type { FastifyInstance } from 'fastify';
import { MESSAGE_TYPES, type MessageType } from '../../core/spec/message.js';
import { toSegmentShape } from '../../core/spec/segment-shape.js';
import { parseTimestamp } from '../../core/spec/timestamp.js';
import type { EventQueryService } from '../../services/event-query-service.js';
import { sendError } from '../errors.js';
import { errorResponses, segmentEventSchema } from '../schemas/common.schema.js';

interface ListQuery {
  type?: MessageType;
  event?: string;
  userId?: string;
  anonymousId?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit: number;
}

const listQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: [...MESSAGE_TYPES] },
    event: { type: 'string', description: 'track event name' },
    userId: { type: 'string' },
    anonymousId: { type: 'string' },
    from: { type: 'string', description: 'ISO-8601; events at or after this (corrected) time' },
    to: { type: 'string', description: 'ISO-8601; events before this time' },
    cursor: { type: 'string', description: 'nextCursor from the previous page' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

/** Reading stored events back: GET /api/events (pages, newest first) and GET /api/quarantine. */
export async function eventsRoutes(
  app: FastifyInstance,
  deps: { queries: EventQueryService },
): Promise<void> {
  app.get<{ Querystring: ListQuery }>(
    '/api/events',
    {
      schema: {
        tags: ['Events'],
        summary: 'List stored events, newest first',
        security: [{ adminKey: [] }],
        querystring: listQuerySchema,
        response: {
          200: {
            type: 'object',
            properties: {
              events: { type: 'array', items: segmentEventSchema },
              nextCursor: { type: ['string', 'null'] },
            },
          },
          ...errorResponses(400, 401),
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const range: { from?: number; to?: number } = {};
      for (const bound of ['from', 'to'] as const) {
        const v = q[bound];
        if (v === undefined) continue;
        const t = parseTimestamp(v);
        if (!t.ok) return sendError(reply, 'invalid_query', `${bound}: ${t.error}`, { field: bound });
        range[bound] = t.value;
      }
      const { from: _f, to: _t, ...rest } = q;
      const page = await deps.queries.list(request.workspaceId!, { ...rest, ...range });
      if (!page.ok) return sendError(reply, 'invalid_query', page.error, { field: 'cursor' });
      return { events: page.value.events.map(toSegmentShape), nextCursor: page.value.nextCursor };
    },
  );

  app.get<{ Querystring: { code?: string; limit: number } }>(
    '/api/quarantine',
    {
      schema: {
        tags: ['Events'],
        summary: 'Rejected messages and requests, with the reason, newest first',
        security: [{ adminKey: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            code: { type: 'string' },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const rows = await deps.queries.quarantine(
        request.workspaceId!,
        request.query.code,
        request.query.limit,
      );
      return {
        items: rows.map((r) => ({
          receivedAt: new Date(r.receivedAt).toISOString(),
          requestId: r.requestId,
          batchIndex: r.batchIndex,
          messageId: r.messageId,
          code: r.code,
          reason: r.reason,
          field: r.field,
          payload: r.payload,
        })),
      };
    },
  );
}
