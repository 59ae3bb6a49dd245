import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '../../core/spec/message.js';
import { MESSAGE_TYPES } from '../../core/spec/message.js';
import { toSegmentShape } from '../../core/spec/segment-shape.js';

export interface LiveDeps {
  subscribe(listener: (events: StoredEvent[]) => void): () => void;
  heartbeatMs: number;
}

/** A slow reader is cut off from new events past this many buffered bytes (and told how many it missed). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** GET /api/events/live: server-sent events of each event as it is committed, like Segment's debugger. */
export async function liveEventsRoutes(app: FastifyInstance, deps: LiveDeps): Promise<void> {
  const open = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const close of open) close();
  });

  app.get<{ Querystring: { type?: string; event?: string } }>(
    '/api/events/live',
    {
      schema: {
        tags: ['Events'],
        summary: 'Stream events as they are committed (text/event-stream)',
        security: [{ adminKey: [] }],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { type: { type: 'string', enum: [...MESSAGE_TYPES] }, event: { type: 'string' } },
        },
      },
    },
    (request, reply) => {
      const workspaceId = request.workspaceId!;
      const { type, event } = request.query;
      const res = reply.raw;
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': connected\n\n');
      let missed = 0;
      const unsubscribe = deps.subscribe((events) => {
        for (const e of events) {
          if (e.workspaceId !== workspaceId) continue;
          if (type !== undefined && e.type !== type) continue;
          if (event !== undefined && e.event !== event) continue;
          if (res.writableLength > MAX_BUFFERED_BYTES) {
            missed++;
            continue;
          }
          if (missed > 0) {
            res.write(`event: missed\ndata: ${JSON.stringify({ count: missed })}\n\n`);
            missed = 0;
          }
          // No `id:` line: the log's seq would count every workspace's traffic, and reconnection
          // from a position is not offered (the stream is live only; history is GET /api/events).
          res.write(`event: event\ndata: ${JSON.stringify(toSegmentShape(e))}\n\n`);
        }
      });
      // The stream ends when its credentials do (a revoked key, a dashboard sign-out): checked
      // with each heartbeat.
      const heartbeat = setInterval(() => {
        if (request.stillAuthorized && !request.stillAuthorized()) close();
        else res.write(': ping\n\n');
      }, deps.heartbeatMs);
      const close = () => {
        clearInterval(heartbeat);
        unsubscribe();
        open.delete(close);
        res.end();
      };
      open.add(close);
      request.raw.on('close', close);
    },
  );
}
