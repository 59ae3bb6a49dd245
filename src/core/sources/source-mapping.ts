import { z } from 'zod';
import { err, ok, type Result } from '../result.js';
import type { JsonObject } from '../spec/message.js';
import { parseTimestamp } from '../spec/timestamp.js';
import {
  type CanonicalRecord,
  type FieldSpec,
  type OutMessage,
  RowError,
  SOURCE_KINDS,
  type SourceKind,
  type SourceObject,
} from './source-object.js';
import { SOURCE_OBJECTS, sourceObject } from './source-objects.js';

/**
 * A mapping file says which object a file holds and where each canonical field is in it:
 *
 * ```json
 * { "object": "deals", "system": "hubspot",
 *   "columns": { "id": "Deal ID", "amount": "Amount", "status": "Deal Stage", "created_at": "Create Date" },
 *   "values": { "status": { "closedwon": "won", "closedlost": "lost" } },
 *   "defaults": { "currency": "EUR" } }
 * ```
 *
 * Fields not named in `columns` are read from a column of their own name. Message ids derive
 * from the system, object and row id, so importing the same export twice stores nothing new.
 */
export const mappingSchema = z
  .object({
    object: z.string().min(1),
    /** The tool the export came from (`hubspot`, `zendesk`, `stripe`…): prefixes ids. */
    system: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,30}$/, 'lower-case letters, digits, _ and -')
      .optional(),
    columns: z.record(z.string(), z.string().min(1)).default({}),
    values: z.record(z.string(), z.record(z.string(), z.string())).default({}),
    defaults: z.record(z.string(), z.union([z.string(), z.number()])).default({}),
  })
  .strict();
export type Mapping = z.input<typeof mappingSchema>;

export interface CompiledMapping {
  kind: SourceKind;
  system: string;
  def: SourceObject;
  mapping: z.output<typeof mappingSchema>;
}

/** Checks a mapping against its source kind: the object exists, and every column names a field. */
export function compileMapping(kind: string, input: unknown): Result<CompiledMapping, string> {
  if (!(SOURCE_KINDS as readonly string[]).includes(kind))
    return err(`unknown source ${JSON.stringify(kind)}: one of ${SOURCE_KINDS.join(', ')}`);
  const parsed = mappingSchema.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return err(`mapping: ${i?.path.join('.') || '(file)'}: ${i?.message}`);
  }
  const m = parsed.data;
  const def = sourceObject(kind as SourceKind, m.object);
  if (!def) {
    const objects = objectsOf(kind as SourceKind);
    return err(
      `mapping: object: ${kind} has no object ${JSON.stringify(m.object)}; one of ${objects.join(', ')}`,
    );
  }
  for (const part of ['columns', 'values', 'defaults'] as const) {
    for (const field of Object.keys(m[part])) {
      if (!(field in def.fields))
        return err(
          `mapping: ${part}.${field}: ${kind} ${m.object} has no field ${JSON.stringify(field)}; fields: ${Object.keys(def.fields).join(', ')}`,
        );
    }
  }
  return ok({ kind: kind as SourceKind, system: m.system ?? kind, def, mapping: m });
}

export function objectsOf(kind: SourceKind): string[] {
  return SOURCE_OBJECTS_BY_KIND[kind];
}

const SOURCE_OBJECTS_BY_KIND = Object.fromEntries(
  SOURCE_KINDS.map((k) => [k, SOURCE_OBJECTS.filter((o) => o.kind === k).map((o) => o.object)]),
) as Record<SourceKind, string[]>;

export interface RowFailure {
  field: string | null;
  message: string;
}

/** One source row (column → value) into Segment messages, or the reason it cannot be. */
export function mapRow(row: Record<string, unknown>, m: CompiledMapping): Result<JsonObject[], RowFailure> {
  try {
    const r: CanonicalRecord = {};
    for (const [field, spec] of Object.entries(m.def.fields)) {
      const column = m.mapping.columns[field] ?? field;
      let raw: unknown = row[column];
      if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === ''))
        raw = m.mapping.defaults[field];
      if (typeof raw === 'string') raw = m.mapping.values[field]?.[raw.trim()] ?? raw;
      r[field] = parseField(field, column, raw, spec);
    }
    const owner = m.def.owner(r);
    const rowId =
      r.id ??
      Object.values(r)
        .filter((v) => v !== null)
        .join(':');
    const anonymousId = owner.id !== null ? `${m.system}:${owner.kind}:${owner.id}` : null;
    if (anonymousId === null && owner.email === null)
      throw new RowError(null, `a ${m.def.object} row needs a person: an id or an email field`);
    const outs = m.def.messages(r);
    // The row says this person belongs to the account: a group call makes them a member.
    if (owner.account !== null && owner.kind !== 'account' && !outs.some((o) => o.message.type === 'group')) {
      outs.push({
        key: 'group',
        at: (outs[0] as OutMessage).at,
        message: { type: 'group', groupId: owner.account },
      });
    }
    return ok(
      outs.map((out) => {
        const msg: JsonObject = {
          ...out.message,
          messageId: messageIdOf(`${m.system}:${m.def.object}:${rowId}:${out.key}`),
          timestamp: new Date(out.at).toISOString(),
          anonymousId: anonymousId ?? `${m.system}:email:${owner.email}`,
          context: {
            ...(owner.email !== null && out.message.type !== 'identify'
              ? { traits: { email: owner.email } }
              : {}),
            integration: { name: m.system, source: m.kind, object: m.def.object },
          },
        };
        if (owner.account !== null && msg.groupId === undefined) msg.groupId = owner.account;
        return msg;
      }),
    );
  } catch (e) {
    if (e instanceof RowError) return err({ field: e.field, message: e.message });
    throw e;
  }
}

function parseField(field: string, column: string, raw: unknown, spec: FieldSpec): string | number | null {
  if (raw === undefined || raw === null || raw === '') {
    if (spec.required) throw new RowError(field, `${field} (column ${JSON.stringify(column)}) is required`);
    return null;
  }
  const text = String(raw).trim();
  switch (spec.type) {
    case 'string':
      return text;
    case 'email':
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text))
        throw new RowError(field, `${field}: not an email address: ${JSON.stringify(text)}`);
      return text.toLowerCase();
    case 'number': {
      const v =
        typeof raw === 'number' ? raw : Number(text.replace(/^[$€£¥]/, '').replace(/,(?=\d{3}(\D|$))/g, ''));
      if (!Number.isFinite(v)) throw new RowError(field, `${field}: not a number: ${JSON.stringify(text)}`);
      return v;
    }
    case 'date': {
      const ms = parseSourceDate(raw);
      if (ms === null)
        throw new RowError(
          field,
          `${field}: not a date: ${JSON.stringify(text)} (ISO 8601, YYYY-MM-DD or epoch)`,
        );
      return ms;
    }
  }
}

/**
 * A date cell of an export: epoch seconds (9–10 digits) or milliseconds (11–13 digits), else
 * whatever `parseTimestamp` reads (ISO 8601; a bare date or a time without zone is UTC).
 */
export function parseSourceDate(raw: unknown): number | null {
  const text = String(raw).trim();
  if (/^\d{9,13}$/.test(text)) {
    const n = Number(text);
    return text.length <= 10 ? n * 1000 : n;
  }
  const t = parseTimestamp(text);
  return t.ok ? t.value : null;
}

/** Readable when short, else a hash-like fold (message ids are at most 100 characters). */
function messageIdOf(key: string): string {
  if (key.length <= 100) return key;
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  return `${key.slice(0, 80)}~${h1.toString(16)}${h2.toString(16)}`;
}
