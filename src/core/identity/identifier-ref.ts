import { err, ok, type Result } from '../result.js';
import { normalizeEmail, normalizePhone } from './identifiers-of.js';
import type { CompiledRules } from './identity-rules.js';

/**
 * An identifier written by a person: `email:jane@x.com`, `user_id:123`, `anonymous_id:…`.
 * Normalised the way messages are, so `email:Jane@X.com` finds `jane@x.com`.
 */
export function parseIdentifierRef(
  ref: string,
  rules: CompiledRules,
): Result<{ type: string; value: string }, string> {
  const colon = ref.indexOf(':');
  if (colon <= 0) return err(`"${ref}" is not an identifier: write type:value, e.g. email:jane@example.com`);
  const type = ref.slice(0, colon).trim().toLowerCase();
  const raw = ref.slice(colon + 1);
  if (!/^[a-z][a-z0-9_]*$/.test(type)) return err(`"${type}" is not an identifier type`);
  let value: string | null = raw.trim();
  if (type === 'email') value = normalizeEmail(raw);
  if (type === 'phone') value = normalizePhone(raw, rules.rules.phoneDefaultCountry);
  if (value === null || value === '') return err(`"${raw}" is not a valid ${type}`);
  return ok({ type, value });
}
