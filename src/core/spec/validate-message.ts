import type { ErrorCode } from '../error-codes.js';
import { err, ok, type Result } from '../result.js';
import {
  type JsonObject,
  type JsonValue,
  LIMITS,
  MESSAGE_TYPES,
  type MessageType,
  type ValidMessage,
} from './message.js';
import { parseTimestamp } from './timestamp.js';

export interface MessageError {
  code: ErrorCode;
  message: string;
  /** Dotted path of the offending field, when one field is to blame. */
  field?: string;
}

const KNOWN_FIELDS = new Set([
  'type',
  'messageId',
  'userId',
  'anonymousId',
  'groupId',
  'previousId',
  'event',
  'name',
  'properties',
  'traits',
  'context',
  'integrations',
  'timestamp',
  'originalTimestamp',
  'sentAt',
  'receivedAt',
  'writeKey',
]);

/** The messageId of a raw (possibly invalid) message, for quarantine rows. */
export function messageIdOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as Record<string, unknown>).messageId;
  return typeof id === 'string' ? id.slice(0, 200) : null;
}

const OBJECT_FIELDS = ['properties', 'traits', 'context', 'integrations'] as const;

const fail = (code: ErrorCode, message: string, field?: string): Result<never, MessageError> =>
  err(field === undefined ? { code, message } : { code, message, field });

/**
 * Checks one message against the Segment spec. `pathType` is the type implied by the endpoint
 * (`/v1/track` → track); batch items must carry their own `type`.
 */
export function validateMessage(raw: unknown, pathType?: MessageType): Result<ValidMessage, MessageError> {
  if (!isObject(raw)) return fail('invalid_message', 'message must be a JSON object');

  // First: the checks below quote bad values in their errors, and quoting hostile nesting
  // overflows the stack (JSON.stringify recurses).
  const depth = nestingDepthExceeds(raw, LIMITS.nestingDepth);
  if (depth) return fail('nesting_too_deep', tooDeep(depth), depth);

  const type = resolveType(raw.type, pathType);
  if (!type.ok) return type;

  const ids: Partial<Record<'messageId' | 'userId' | 'anonymousId' | 'groupId' | 'previousId', string>> = {};
  for (const field of ['messageId', 'userId', 'anonymousId', 'groupId', 'previousId'] as const) {
    const id = readId(raw, field);
    if (!id.ok) return id;
    if (id.value !== undefined) ids[field] = id.value;
  }
  if (ids.messageId !== undefined && ids.messageId.length > LIMITS.messageIdChars) {
    return fail(
      'invalid_value',
      `messageId is ${ids.messageId.length} characters; at most ${LIMITS.messageIdChars} are allowed`,
      'messageId',
    );
  }
  if (ids.userId === undefined && ids.anonymousId === undefined) {
    return fail('missing_field', 'either userId or anonymousId is required', 'userId');
  }

  const msg: ValidMessage = { type: type.value, ...ids };

  for (const field of ['event', 'name'] as const) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string')
      return fail('invalid_type', `${field} must be a string, got ${kindOf(v)}`, field);
    msg[field] = v;
  }

  switch (type.value) {
    case 'track':
      if (msg.event === undefined || msg.event.trim() === '') {
        return fail('missing_field', 'track requires a non-empty event name', 'event');
      }
      break;
    case 'group':
      if (ids.groupId === undefined) return fail('missing_field', 'group requires groupId', 'groupId');
      break;
    case 'alias':
      if (ids.previousId === undefined)
        return fail('missing_field', 'alias requires previousId', 'previousId');
      if (ids.userId === undefined) return fail('missing_field', 'alias requires userId', 'userId');
      break;
    default:
      break;
  }

  for (const field of OBJECT_FIELDS) {
    const v = raw[field];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) return fail('invalid_type', `${field} must be an object, got ${kindOf(v)}`, field);
    msg[field] = v as JsonObject;
  }

  // `originalTimestamp` is what a client that already split the fields sends (e.g. a re-import).
  const tsRaw = raw.timestamp ?? raw.originalTimestamp;
  const tsField = raw.timestamp !== undefined && raw.timestamp !== null ? 'timestamp' : 'originalTimestamp';
  const ts = readTime(tsRaw, tsField);
  if (!ts.ok) return ts;
  if (ts.value !== undefined) msg.timestamp = ts.value;
  const sentAt = readTime(raw.sentAt, 'sentAt');
  if (!sentAt.ok) return sentAt;
  if (sentAt.value !== undefined) msg.sentAt = sentAt.value;

  let extra: JsonObject | undefined;
  for (const key of Object.keys(raw)) {
    if (KNOWN_FIELDS.has(key)) continue;
    extra ??= {};
    setField(extra, key, raw[key] as JsonValue);
  }
  if (extra) msg.extra = extra;

  return ok(msg);
}

function resolveType(value: unknown, pathType: MessageType | undefined): Result<MessageType, MessageError> {
  if (value === undefined || value === null) {
    return pathType ? ok(pathType) : fail('missing_field', 'type is required in a batch item', 'type');
  }
  if (typeof value !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(value)) {
    return fail(
      'invalid_value',
      `type must be one of ${MESSAGE_TYPES.join(', ')}; got ${show(value)}`,
      'type',
    );
  }
  const type = value as MessageType;
  if (pathType && type !== pathType) {
    return fail('invalid_value', `type "${type}" does not match the endpoint for ${pathType}`, 'type');
  }
  return ok(type);
}

/** Ids may be strings or finite numbers (Segment accepts both); empty strings count as absent. */
function readId(raw: Record<string, unknown>, field: string): Result<string | undefined, MessageError> {
  const v = raw[field];
  if (v === undefined || v === null) return ok(undefined);
  if (typeof v === 'number' && Number.isFinite(v)) return ok(String(v));
  if (typeof v !== 'string')
    return fail('invalid_type', `${field} must be a string, got ${kindOf(v)}`, field);
  return ok(v.trim() === '' ? undefined : v);
}

function readTime(v: unknown, field: string): Result<number | undefined, MessageError> {
  if (v === undefined || v === null) return ok(undefined);
  if (typeof v !== 'string') {
    return fail('invalid_type', `${field} must be an ISO-8601 string, got ${kindOf(v)}`, field);
  }
  const parsed = parseTimestamp(v);
  return parsed.ok ? ok(parsed.value) : fail('invalid_timestamp', `${field}: ${parsed.error}`, field);
}

/**
 * Assigning a field named "__proto__" would set the object's prototype instead, and the field
 * would vanish from the stored JSON; it is defined. (Every other key takes the fast path.)
 */
function setField(o: JsonObject, key: string, value: JsonValue): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** The reason given for `nesting_too_deep`; `field` is the top-level field (or envelope field). */
export const tooDeep = (field: string): string =>
  `${field} nests deeper than the ${LIMITS.nestingDepth} levels allowed`;

/**
 * Iterative walk (no recursion, so hostile nesting cannot overflow the stack). Returns the
 * top-level field under which the limit is crossed (a field's own value is level 1). Paths are
 * not built per node: this runs on every message.
 */
export function nestingDepthExceeds(root: object, limit: number): string | undefined {
  const stack: Array<[unknown, number, string]> = [];
  for (const key in root) stack.push([(root as Record<string, unknown>)[key], 1, key]);
  while (stack.length > 0) {
    const [node, depth, top] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > limit) return top;
    if (Array.isArray(node)) {
      for (const child of node) stack.push([child, depth + 1, top]);
    } else {
      for (const key in node) stack.push([(node as Record<string, unknown>)[key], depth + 1, top]);
    }
  }
  return undefined;
}

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Quotes a (shallow: the nesting check ran first) bad value in an error message. */
const show = (v: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    // Never let the wording of an error turn a client's mistake into a server fault.
    s = kindOf(v);
  }
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};
