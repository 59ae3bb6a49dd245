import type { JsonObject } from '../spec/message.js';

/**
 * What an offline source object is (canonical fields, owner, the messages a record becomes) and
 * the helpers the per-source files (crm-, billing-, feedback-objects.ts) define them with.
 */

export const SOURCE_KINDS = ['crm', 'support', 'billing', 'survey', 'ad-spend'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export type FieldType = 'string' | 'number' | 'date' | 'email';

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  doc: string;
}

/** A record after mapping and parsing: canonical field → value (dates as epoch ms). */
export type CanonicalRecord = Record<string, string | number | null>;

/** One message to send, before the system/object/id prefix is added to its messageId. */
export interface OutMessage {
  /** Suffix that makes the messageId unique per record (`created`, `closed`…). */
  key: string;
  at: number;
  message: JsonObject;
}

export interface Owner {
  kind: string;
  id: string | null;
  email: string | null;
  account: string | null;
}

export interface SourceObject {
  kind: SourceKind;
  object: string;
  doc: string;
  fields: Record<string, FieldSpec>;
  /** The messages for one record (the owner's identity is added by the caller). */
  messages(r: CanonicalRecord): OutMessage[];
  /**
   * Who the record is about: an owner of a kind (`contact`, `customer`…) with an id (the
   * anonymousId is `<system>:<kind>:<id>`, the same for every object of that owner), an email,
   * an account.
   */
  owner(r: CanonicalRecord): Owner;
}

export const s = (doc: string, required = false): FieldSpec => ({ type: 'string', doc, required });
export const n = (doc: string, required = false): FieldSpec => ({ type: 'number', doc, required });
export const d = (doc: string, required = false): FieldSpec => ({ type: 'date', doc, required });
export const email = (doc: string, required = false): FieldSpec => ({ type: 'email', doc, required });

export const str = (v: string | number | null | undefined) =>
  v === null || v === undefined ? null : String(v);
/** Drops nulls so messages carry only what the row had. */
export const compact = (o: Record<string, string | number | null | undefined>): JsonObject => {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== null && v !== undefined) out[k] = v;
  return out;
};
export const track = (key: string, at: number, event: string, properties: JsonObject): OutMessage => ({
  key,
  at,
  message: { type: 'track', event, properties },
});

export const ownedBy =
  (kind: string, idField: string, emailField: string) =>
  (r: CanonicalRecord): Owner => ({
    kind,
    id: str(r[idField]),
    email: str(r[emailField]),
    account: str(r.account_id),
  });

/** A row that cannot become messages: which field, and why. */
export class RowError extends Error {
  constructor(
    readonly field: string | null,
    message: string,
  ) {
    super(message);
  }
}
