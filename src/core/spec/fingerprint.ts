import { hash } from 'node:crypto';

/**
 * Identifies a payload so an exact retry (same messageId, same content) can be told from a
 * conflicting reuse of a messageId. Fields that legitimately change between retries
 * (sentAt, writeKey, server-side receivedAt/ip) are not part of it. SHA-1 in one shot: this
 * runs for every message and needs no resistance to deliberate collisions, only to chance.
 */
export function fingerprint(parts: readonly (string | number | null | undefined)[]): string {
  let joined = '';
  for (const part of parts) joined += part === null || part === undefined ? '\u0000' : `${part}\u0001`;
  return hash('sha1', joined, 'base64url').slice(0, 22);
}
