import type { FastifyInstance } from 'fastify';
import { parseTimestamp } from '../../core/spec/timestamp.js';
import type { Bucket, OverviewService } from '../../services/overview-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

interface Deps {
  overview: OverviewService;
  /** The pipeline's progress (ingest and load lag), as /health reports it. */
  health(): { body: object };
}

const DAY = 86_400_000;

/** The dashboard overview: counts and trends over a range, channel mix, stages now, conversions. */
export async function overviewRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  app.get<{ Querystring: { from?: string; to?: string; bucket: Bucket } }>(
    '/api/overview',
    {
      schema: {
        tags: ['Overview'],
        security: [{ adminKey: [] }],
        summary:
          'Events, active persons, accounts, touchpoints and conversions over a range (default: the last 30 days) with their trend, the channel mix, the stage distribution now, recent conversions and the pipeline lag',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', description: 'ISO-8601 start (inclusive); default: 30 days before `to`' },
            to: { type: 'string', description: 'ISO-8601 end (exclusive); default: now' },
            bucket: { type: 'string', enum: ['day', 'week', 'month'], default: 'day' },
          },
        },
        response: errorResponses(400, 401),
      },
    },
    async (request, reply) => {
      const time = (field: 'from' | 'to', fallback: number) => {
        const raw = request.query[field];
        if (raw === undefined) return { ok: true as const, value: new Date(fallback) };
        const t = parseTimestamp(raw);
        return t.ok
          ? { ok: true as const, value: new Date(t.value) }
          : { ok: false as const, error: `${field}: ${t.error}` };
      };
      const to = time('to', Date.now());
      if (!to.ok) return sendError(reply, 'invalid_query', to.error, { field: 'to' });
      const from = time('from', to.value.getTime() - 30 * DAY);
      if (!from.ok) return sendError(reply, 'invalid_query', from.error, { field: 'from' });
      if (from.value >= to.value)
        return sendError(reply, 'invalid_query', 'from must be before to', { field: 'from' });
      const buckets =
        (to.value.getTime() - from.value.getTime()) /
        { day: DAY, week: 7 * DAY, month: 30 * DAY }[request.query.bucket];
      if (buckets > 1500)
        return sendError(
          reply,
          'invalid_query',
          `${Math.ceil(buckets)} ${request.query.bucket}s is too many points for one chart (at most 1,500): choose a larger bucket or a shorter range`,
          { field: 'bucket' },
        );
      const data = await deps.overview.overview(request.workspaceId!, {
        from: from.value,
        to: to.value,
        bucket: request.query.bucket,
      });
      return {
        range: { from: from.value.toISOString(), to: to.value.toISOString(), bucket: request.query.bucket },
        ...data,
        pipeline: deps.health().body,
      };
    },
  );
}
