import { identifiersOf } from '../core/identity/identifiers-of.js';
import type { CompiledRules } from '../core/identity/identity-rules.js';
import { identifierHash } from '../core/identity/person-id.js';
import type { StoredEvent } from '../core/spec/message.js';
import type { Suppression } from './identity-ports.js';

/** Identifiers of deleted persons whose messages must not be stored again (hashes only). */
export class SuppressionList {
  private readonly hashes = new Map<string, Set<string>>();

  add(s: Suppression): void {
    const set = this.hashes.get(s.workspaceId) ?? new Set<string>();
    set.add(s.valueHash);
    this.hashes.set(s.workspaceId, set);
  }

  /** False for an event carrying a suppressed identifier. Free for workspaces without any. */
  admits(event: StoredEvent, rules: CompiledRules): boolean {
    const set = this.hashes.get(event.workspaceId);
    if (!set) return true;
    for (const i of identifiersOf(event, rules)) if (set.has(identifierHash(i.type, i.value))) return false;
    return true;
  }
}
