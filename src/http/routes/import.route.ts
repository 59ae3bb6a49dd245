import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { linesOf } from '../../core/lines.js';
import { LogWriteError } from '../../services/event-log.js';
import type { ImportService } from '../../services/import-service.js';
import { sendError } from '../errors.js';
import { errorResponses } from '../schemas/common.schema.js';

export interface ImportDeps {
  imports: ImportService;
  /** False while the collector is starting (its deduplication index loading). */
  accepting: () => boolean;
  /** Resolves once everything logged so far is loaded into the database (queryable). */
  loaded: () => Promise<void>;
}

// application/json too: one JSON object per line is what clients label JSON, and it must stream.
const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/jsonl',
  'application/json-seq',
  'application/json',
  'text/plain',
];

/**
 * POST /api/import: a Segment-format NDJSON body (gzip allowed), streamed through the same
 * validation, deduplication and ingest log as the Tracking API, in flat memory. `throughline
 * import` uses it when a server holds the data directory.
 */
export async function importRoutes(app: FastifyInstance, deps: ImportDeps): Promise<void> {
  // The body is read as a stream by the handler, never buffered whole (this plugin's scope only).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(NDJSON_TYPES, (_request, payload, done) => done(null, payload));
  app.post(
    '/api/import',
    {
      schema: {
        tags: ['Ingestion'],
        summary: 'Bulk import of NDJSON messages (one Segment message per line; gzip allowed)',
        description:
          'Each line gets the Tracking API validation and normalisation; bad lines are quarantined with their line number. Answers once every line is durable and loaded.',
        response: errorResponses(400, 401, 415),
      },
    },
    async (request, reply) => {
      if (!deps.accepting()) {
        reply.header('Retry-After', '1');
        return sendError(
          reply,
          'overloaded',
          'the server is starting (loading its deduplication index); retry shortly',
        );
      }
      const encoding = (request.headers['content-encoding'] ?? 'identity').toLowerCase();
      if (encoding !== 'identity' && encoding !== 'gzip') {
        return sendError(
          reply,
          'unsupported_encoding',
          `content-encoding ${encoding} is not supported; send gzip or none`,
        );
      }
      const body = request.body as Readable;
      let streamError: Error | null = null;
      // pipeline() passes a client's abort on to the gunzip stream, so the reading loop ends.
      const text = encoding === 'gzip' ? pipeline(body, createGunzip(), () => undefined) : body;
      text.on('error', (e) => {
        streamError ??= e;
      });
      let failure: unknown = null;
      const stats = await deps.imports
        .importLines(linesOf(text.setEncoding('utf8') as AsyncIterable<string>), {
          workspaceId: request.workspaceId as string,
          importId: request.id,
        })
        .catch((e: unknown) => {
          failure = e;
          return null;
        });
      if (!stats) {
        const readError = streamError as Error | null;
        if (readError) {
          return sendError(
            reply,
            'invalid_encoding',
            `the import body could not be read: ${readError.message}`,
            {
              note: 'lines logged before the error were imported; re-sending the file is safe (deduplication)',
            },
          );
        }
        // Only a failed log write is worth re-sending; anything else is a fault (500, logged).
        if (!(failure instanceof LogWriteError)) throw failure;
        request.log.error({ err: failure }, 'import failed');
        reply.header('Retry-After', '1');
        return sendError(
          reply,
          'storage_unavailable',
          'the import could not be written to the ingest log; what was acknowledged before is kept, re-send the file',
        );
      }
      await deps.loaded();
      return { importId: request.id, ...stats };
    },
  );
}
