/**
 * The one catalogue of error codes the API can answer with, each with its HTTP status.
 * Message-level codes (used per index in a batch) map to 400 when a single message fails.
 */
export const ERROR_CODES = {
  // authentication
  missing_key: 401,
  invalid_key: 401,
  // a dashboard session's mutation without its cross-site request token
  csrf_rejected: 403,
  // request level
  invalid_json: 400,
  invalid_body: 400,
  invalid_encoding: 400,
  unsupported_encoding: 415,
  unsupported_media_type: 415,
  request_too_large: 413,
  too_many_messages: 400,
  invalid_query: 400,
  not_found: 404,
  invalid_operation: 409,
  overloaded: 503,
  // connection level: a client too slow or holding too many sockets
  request_timeout: 408,
  too_many_connections: 429,
  // message level
  invalid_message: 400,
  missing_field: 400,
  invalid_type: 400,
  invalid_value: 400,
  invalid_timestamp: 400,
  message_too_large: 400,
  nesting_too_deep: 400,
  conflicting_duplicate: 409,
  // import rows (offline sources) that cannot become messages
  invalid_row: 400,
  // webhooks
  invalid_signature: 400,
  // server faults (never a client's mistake)
  internal_error: 500,
  storage_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ApiError {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

export const statusOf = (code: ErrorCode): number => ERROR_CODES[code];
