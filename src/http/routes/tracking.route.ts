import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, statusOf } from '../../core/error-codes.js';
import { LIMITS, type MessageType } from '../../core/spec/message.js';
import { parseBatch } from '../../core/spec/parse-batch.js';
import { isObject } from '../../core/spec/validate-message.js';
import { LogWriteError } from '../../services/event-log.js';
import type { IngestRequest, IngestService } from '../../services/ingest-service.js';
import type { KeyRing } from '../../services/workspace-service.js';
import { decodeBody } from '../decode-body.js';
import { errorBody, sendError } from '../errors.js';
import { trackingSchemas } from '../schemas/tracking.schema.js';
import { writeKeyFromHeaders } from '../write-key-auth.js';

export interface TrackingDeps {
  ingest: IngestService;
  keyRing: KeyRing;
  /** Seconds a client should wait when the server is overloaded. */
  retryAfterSeconds: number;
}

const SINGLE: Record<string, MessageType> = {
  identify: 'identify',
  i: 'identify',
  track: 'track',
  t: 'track',
  page: 'page',
  p: 'page',
  screen: 'screen',
  s: 'screen',
  group: 'group',
  g: 'group',
  alias: 'alias',
  a: 'alias',
};
const BATCH = ['batch', 'b', 'import'];

/** Bodies are not validated by the framework: every message is checked by the core, and reported by index. */
const noValidation = () => () => true;

/** The Segment-compatible HTTP Tracking API under /v1. */
export async function trackingRoutes(app: FastifyInstance, deps: TrackingDeps): Promise<void> {
  // Parse every content type ourselves (SDKs send application/json, sendBeacon text/plain, curl
  // form-urlencoded by default) so errors, gzip and body-borne write keys are handled in one place.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: LIMITS.requestBytes }, (_req, body, done) =>
    done(null, body),
  );

  // Header keys are checked before the body is read, so an oversize body can still be quarantined.
  app.addHook('onRequest', async (request, reply) => {
    const key = writeKeyFromHeaders(request);
    if (key === undefined) return;
    const ws = deps.keyRing.workspaceForWriteKey(key);
    if (ws === undefined)
      return sendError(reply, 'invalid_key', 'the write key is not valid for any workspace');
    request.workspaceId = ws;
  });

  app.addHook('onError', async (request, _reply, error) => {
    if (
      (error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE' &&
      request.workspaceId &&
      deps.ingest.accepting
    ) {
      await deps.ingest.quarantineRequest({
        workspaceId: request.workspaceId,
        requestId: request.id,
        code: 'request_too_large',
        reason: `request body over ${LIMITS.requestBytes} bytes was not read`,
        payload: `(${request.headers['content-length'] ?? 'unknown'} bytes, not stored)`,
      });
    }
  });

  const handle = (pathType: MessageType | undefined) => (request: FastifyRequest, reply: FastifyReply) =>
    receive(request, reply, pathType, deps);

  for (const [path, type] of Object.entries(SINGLE)) {
    app.post(
      `/v1/${path}`,
      { schema: trackingSchemas.single(type, path), validatorCompiler: noValidation },
      handle(type),
    );
  }
  for (const path of BATCH) {
    app.post(
      `/v1/${path}`,
      { schema: trackingSchemas.batch(path), validatorCompiler: noValidation },
      handle(undefined),
    );
  }
}

async function receive(
  request: FastifyRequest,
  reply: FastifyReply,
  pathType: MessageType | undefined,
  deps: TrackingDeps,
): Promise<FastifyReply> {
  const quarantine = (workspaceId: string, code: ErrorCode, reason: string, payload: string) =>
    deps.ingest.quarantineRequest({ workspaceId, requestId: request.id, code, reason, payload });

  if (!deps.ingest.accepting) {
    reply.header('Retry-After', String(deps.retryAfterSeconds));
    return sendError(
      reply,
      'overloaded',
      'the server is starting (loading its deduplication index); retry after the delay given',
    );
  }
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const decoded = await decodeBody(raw, request.headers['content-encoding'], LIMITS.requestBytes);
  if (!decoded.ok) {
    if (request.workspaceId) {
      await quarantine(
        request.workspaceId,
        decoded.error.code,
        decoded.error.message,
        raw.toString('base64'),
      );
    }
    return sendError(reply, decoded.error.code, decoded.error.message);
  }
  const { text, json } = decoded.value;

  let workspaceId = request.workspaceId;
  if (!workspaceId) {
    const bodyKey = isObject(json) && typeof json.writeKey === 'string' ? json.writeKey : undefined;
    if (bodyKey === undefined) {
      return sendError(
        reply,
        'missing_key',
        'no write key: send it as HTTP Basic user name, an X-Write-Key header, or "writeKey" in the body',
      );
    }
    workspaceId = deps.keyRing.workspaceForWriteKey(bodyKey);
    if (!workspaceId) return sendError(reply, 'invalid_key', 'the write key is not valid for any workspace');
  }

  if (!isObject(json)) {
    const reason = 'body must be a JSON object';
    await quarantine(workspaceId, 'invalid_body', reason, text);
    return sendError(reply, 'invalid_body', reason);
  }

  if (deps.ingest.overloaded) {
    reply.header('Retry-After', String(deps.retryAfterSeconds));
    return sendError(reply, 'overloaded', 'the server is busy committing; retry after the delay given');
  }

  const base = { workspaceId, requestId: request.id, ip: request.ip ?? null, rawBody: text };
  let ingestRequest: IngestRequest;
  if (pathType) {
    ingestRequest = { ...base, messages: [json], pathType };
  } else {
    const batch = parseBatch(json);
    if (!batch.ok) {
      await quarantine(workspaceId, batch.error.code, batch.error.message, text);
      return sendError(reply, batch.error.code, batch.error.message, { field: batch.error.field });
    }
    ingestRequest = { ...base, messages: batch.value.messages, envelope: batch.value.envelope };
  }

  let outcome: Awaited<ReturnType<IngestService['ingest']>>;
  try {
    outcome = await deps.ingest.ingest(ingestRequest);
  } catch (e) {
    // Only a failed log write is worth a retry; a fault in our code would be retried forever.
    if (!(e instanceof LogWriteError)) throw e;
    request.log.error({ err: e }, 'log write failed');
    reply.header('Retry-After', String(deps.retryAfterSeconds));
    return sendError(reply, 'storage_unavailable', 'the events could not be stored; nothing was kept, retry');
  }

  if (pathType) {
    const failure = outcome.failures[0];
    if (failure) {
      return reply
        .code(statusOf(failure.code))
        .send(errorBody(failure.code, failure.message, failure.field ? { field: failure.field } : undefined));
    }
    return reply.send(outcome.duplicates > 0 ? { success: true, duplicate: true } : { success: true });
  }
  return reply.send({
    success: true,
    accepted: outcome.accepted,
    ...(outcome.duplicates > 0 ? { duplicates: outcome.duplicates } : {}),
    ...(outcome.failures.length > 0 ? { errors: outcome.failures } : {}),
  });
}
