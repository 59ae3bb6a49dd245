import { createHash } from 'node:crypto';

/**
 * Identifies a payload so an exact retry (same messageId, same content) can be told from a
 * conflicting reuse of a messageId. Fields that legitimately change between retries
 * (sentAt, writeKey, server-side receivedAt/ip) are not part of it.
 */
export function fingerprint(parts: readonly (string | number | null | undefined)[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(part === null || part === undefined ? '\u0000' : `${part}\u0001`);
  return h.digest('base64url').slice(0, 22);
}
