import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, statusOf } from '../core/error-codes.js';

export const errorBody = (code: ErrorCode, message: string, details?: unknown) => ({
  error: details === undefined ? { code, message } : { code, message, details },
});

export function sendError(
  reply: FastifyReply,
  code: ErrorCode,
  message: string,
  details?: unknown,
): FastifyReply {
  return reply.code(statusOf(code)).send(errorBody(code, message, details));
}

/** Fastify's own errors for client mistakes, mapped to our catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_body',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_VALIDATION: 'invalid_query',
};

/** The one place errors become responses: client mistakes get 4xx with a reason, faults get a logged 5xx. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = FASTIFY_CODES[error.code];
    if (mapped) {
      const message =
        mapped === 'request_too_large'
          ? `request body is larger than the ${Math.round((request.routeOptions.bodyLimit ?? 0) / 1024)} KB allowed`
          : mapped === 'unsupported_media_type'
            ? mediaTypeMessage(request)
            : error.message;
      return sendError(reply, mapped, message);
    }
    // The pipeline is behind (a strict read barrier timed out): the client should retry, not give up.
    if ((error as { code?: string }).code === 'storage_unavailable') {
      reply.header('Retry-After', '5');
      return sendError(reply, 'storage_unavailable', error.message);
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send(errorBody('invalid_body', error.message));
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(reply, 'internal_error', 'the server failed to handle this request; it has been logged');
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
  );
}

/** `type/subtype` with optional parameters (RFC 9110 tokens). */
const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(;.*)?$/;

/**
 * Fastify's "Unsupported Media Type" for a body no parser of the route takes, including an empty
 * or malformed header (the Tracking API reads every well-formed type itself): say what was sent
 * and what to send instead.
 */
function mediaTypeMessage(request: FastifyRequest): string {
  const given = request.headers['content-type'];
  const path = request.url.split('?')[0] ?? '';
  const what =
    given === undefined
      ? 'the body has no Content-Type header'
      : given.trim() === ''
        ? 'the Content-Type header is empty'
        : !MEDIA_TYPE.test(given)
          ? `Content-Type ${JSON.stringify(given)} is not a media type (type/subtype)`
          : `Content-Type ${JSON.stringify(given)} is not accepted by ${request.method} ${path}`;
  const accepted = path === '/api/import' ? 'application/x-ndjson' : 'application/json';
  return `${what}; send ${accepted}`;
}
