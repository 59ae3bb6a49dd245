import { hash } from 'node:crypto';

/**
 * A person is named after its anchor identifier (the highest-priority one: its user id when it
 * has one), so the id is the same after a restart, a rebuild or a replay in another order.
 * Hashed, so person ids do not leak emails into URLs and logs.
 */
export function personIdOf(workspaceId: string, type: string, value: string): string {
  return `p_${hash('sha1', `${workspaceId}\u0001${type}\u0001${value}`, 'hex').slice(0, 20)}`;
}

export const isPersonId = (s: string): boolean => /^p_[0-9a-f]{20}$/.test(s);

/** Suppression list entries keep only this hash of an identifier. */
export function identifierHash(type: string, value: string): string {
  return hash('sha256', `${type}:${value}`, 'hex');
}
