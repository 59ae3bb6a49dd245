import type { CountryCode } from 'libphonenumber-js';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { StoredEvent } from '../spec/message.js';
import { type CompiledRules, compareTypes } from './identity-rules.js';

/** A typed identifier value, normalised (emails lower-cased, phones in E.164 where possible). */
export interface Identifier {
  type: string;
  value: string;
}

/** The parts of a stored event identity resolution reads. */
export type IdentitySource = Pick<
  StoredEvent,
  'type' | 'userId' | 'anonymousId' | 'previousId' | 'traits' | 'context' | 'properties'
>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_VALUE_CHARS = 512;

export function normalizeEmail(raw: string): string | null {
  const v = raw.trim().toLowerCase();
  return EMAIL.test(v) ? v : null;
}

/** E.164 when the number parses (with the workspace's default country); otherwise its digits. */
export function normalizePhone(raw: string, defaultCountry?: string): string | null {
  const parsed = parsePhoneNumberFromString(raw, defaultCountry as CountryCode | undefined);
  if (parsed?.isValid()) return parsed.number;
  const digits = raw.replace(/[^\d+]/g, '').replace(/(?!^)\+/g, '');
  return digits.replace(/\D/g, '').length >= 7 ? digits : null;
}

/**
 * Every identifier a message carries, highest priority first (so `[0]` is the one its event is
 * filed under). Blocked placeholder values are left out: they stay in the payload only.
 * JSON columns are parsed only when they can hold an identifier, since this runs per event.
 */
export function identifiersOf(event: IdentitySource, rules: CompiledRules): Identifier[] {
  const out: Identifier[] = [];
  const add = (type: string, raw: unknown) => {
    if (typeof raw === 'number' && Number.isFinite(raw)) raw = String(raw);
    if (typeof raw !== 'string' || raw.length > MAX_VALUE_CHARS || rules.isBlocked(raw)) return;
    let value: string | null = raw.trim();
    if (type === 'email') value = normalizeEmail(value);
    else if (type === 'phone') value = normalizePhone(value, rules.rules.phoneDefaultCountry);
    if (value === null || rules.isBlocked(value)) return;
    for (const x of out) if (x.type === type && x.value === value) return;
    out.push({ type, value });
  };

  add('user_id', event.userId);
  add('anonymous_id', event.anonymousId);
  // analytics.js sends the anonymous id as previousId unless the user was already identified;
  // merging two user ids is a manual merge, so previousId is read as an anonymous id.
  if (event.type === 'alias') add('anonymous_id', event.previousId);

  const all = rules.rules.customIdentifiers.length > 0;
  const traits = mentions(event.traits, all, TRAIT_KEYS) ? parseObject(event.traits) : null;
  const context = mentions(event.context, all, CONTEXT_KEYS) ? parseObject(event.context) : null;
  const contextTraits = asObject(context?.traits);
  for (const source of [traits, contextTraits]) {
    if (!source) continue;
    add('email', source.email);
    add('phone', source.phone);
  }
  const device = asObject(context?.device);
  if (device) {
    add('device_id', device.id);
    if (device.adTrackingEnabled !== false) add('advertising_id', device.advertisingId);
  }
  const external = context?.externalIds;
  if (Array.isArray(external)) {
    for (const x of external) {
      const e = asObject(x);
      const type = typeof e?.type === 'string' ? externalType(e.type) : null;
      if (e && type) add(type, e.id);
    }
  }
  if (rules.rules.customIdentifiers.length > 0) {
    const parts: Record<string, Record<string, unknown> | null> = {
      traits,
      'context.traits': contextTraits,
      context,
      properties: event.properties ? parseObject(event.properties) : null,
    };
    for (const custom of rules.rules.customIdentifiers) {
      const [root, rest] = splitPath(custom.path);
      add(custom.type, readPath(parts[root] ?? null, rest));
    }
  }
  return out.sort((a, b) => compareTypes(rules, a.type, b.type) || (a.value < b.value ? -1 : 1));
}

/** `context.externalIds[].type` as an identifier type: `hubspot contact id` → `hubspot_contact_id`. */
function externalType(raw: string): string | null {
  const t = raw
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (t === '' || !/^[a-z]/.test(t)) return null;
  return t === 'userid' ? 'user_id' : t === 'anonymousid' ? 'anonymous_id' : t;
}

function splitPath(path: string): [string, string[]] {
  if (path.startsWith('context.traits.')) return ['context.traits', path.slice(15).split('.')];
  const [root, ...rest] = path.split('.');
  return [root ?? '', rest];
}

function readPath(obj: Record<string, unknown> | null, path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    const o = asObject(cur);
    if (!o) return undefined;
    cur = o[key];
  }
  return cur;
}

const TRAIT_KEYS = ['"email"', '"phone"'];
const CONTEXT_KEYS = ['"traits"', '"device"', '"externalIds"'];

/** A cheap test before parsing: does this JSON text mention a key that can hold an identifier? */
function mentions(json: string | null, always: boolean, keys: string[]): json is string {
  return json !== null && (always || keys.some((k) => json.includes(k)));
}

function parseObject(json: string): Record<string, unknown> | null {
  try {
    return asObject(JSON.parse(json));
  } catch {
    return null;
  }
}

function asObject(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}
