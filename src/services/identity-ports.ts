import type { LinkRule } from '../core/identity/link.js';
import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/** What the identity pipeline needs from storage; store/duckdb-identity-store.ts implements it. */

export interface IdentifierRow {
  id: number;
  workspaceId: string;
  type: string;
  value: string;
}

export interface LinkRow {
  id: number;
  workspaceId: string;
  members: number[];
  rule: LinkRule;
  at: number;
  messageId: string;
  seq: number;
}

export type OpKind = 'untrust' | 'trust' | 'remove' | 'merge' | 'undo';

export interface IdentityOpRow {
  id: number;
  workspaceId: string;
  kind: OpKind;
  identifiers: number[];
  others: number[];
  /** The link a merge created. */
  linkId: number | null;
  /** The op an undo reverses. */
  undoes: number | null;
  reason: string | null;
  at: number;
}

/** One event filed under its identifier. */
export interface EventIdentityRow {
  seq: number;
  workspaceId: string;
  identifierId: number;
  timestamp: number;
  type: MessageType;
  groupId: string | null;
  revenue: number | null;
}

/** Written in one transaction, so `processedSeq` always matches what the tables hold. */
export interface IdentityBatch {
  identifiers: IdentifierRow[];
  links: LinkRow[];
  events: EventIdentityRow[];
  processedSeq: number;
}

export interface TimelineCursor {
  timestamp: number;
  seq: number;
}

export interface TimelineQuery {
  identifierIds: number[];
  /** Also the events tagged with this account (account timelines). */
  account?: { workspaceId: string; groupId: string };
  order: 'asc' | 'desc';
  after?: TimelineCursor;
  limit: number;
}

export interface ActivityStats {
  events: number;
  firstSeen: number | null;
  lastSeen: number | null;
  revenue: number;
  byType: Record<string, number>;
}

export interface TraitEvent {
  traits: string | null;
  timestamp: number;
  messageId: string;
  seq: number;
}

export interface Membership {
  workspaceId: string;
  groupId: string;
  identifierId: number;
}

/** What one deletion removed, per store. */
export interface DeletionCounts {
  events: number;
  eventIdentity: number;
  identifiers: number;
  links: number;
  quarantine: number;
}

export interface Suppression {
  workspaceId: string;
  type: string;
  valueHash: string;
}

export interface DeletionRequest {
  workspaceId: string;
  personId: string;
  receiptId: string;
  at: number;
  identifierIds: number[];
  /** Identifier values, to find quarantined payloads that mention them. */
  values: string[];
  suppress: Suppression[];
}

export interface IdentityStore {
  load(handlers: {
    identifier(row: IdentifierRow): void;
    link(row: LinkRow): void;
    op(row: IdentityOpRow): void;
    membership(row: Membership): void;
  }): Promise<{ processedSeq: number }>;
  /** The last seq whose identity rows are stored (without loading the graph). */
  processedSeq(): Promise<number>;
  loadSettings(): Promise<{ workspaceId: string; rules: unknown }[]>;
  saveSettings(workspaceId: string, rules: unknown, at: number): Promise<void>;
  loadSuppressions(): Promise<Suppression[]>;
  append(batch: IdentityBatch): Promise<void>;
  appendOp(op: IdentityOpRow, links: LinkRow[]): Promise<void>;
  /**
   * Committed events after `seq`, in seq order, in chunks (catching up after a restart or an
   * import). Only what identity resolution reads: JSON parts that cannot hold an identifier or a
   * revenue come back null, unless `wholeContext` (custom identifiers may read any path).
   */
  eventsAfter(
    seq: number,
    wholeContext: boolean,
    onChunk: (events: StoredEvent[]) => Promise<void> | void,
  ): Promise<void>;
  timeline(q: TimelineQuery): Promise<StoredEvent[]>;
  activity(identifierIds: number[]): Promise<ActivityStats>;
  traitEvents(identifierIds: number[]): Promise<TraitEvent[]>;
  accountTraitEvents(workspaceId: string, groupId: string): Promise<TraitEvent[]>;
  /** Identifiers whose identify calls mention `text` in their traits (case-insensitive). */
  identifiersWithTrait(workspaceId: string, text: string, limit: number): Promise<number[]>;
  /** Every stored row about these identifiers: the data-subject export. */
  exportEvents(identifierIds: number[]): Promise<StoredEvent[]>;
  quarantineMentioning(workspaceId: string, values: string[]): Promise<QuarantinedMessage[]>;
  deletePerson(req: DeletionRequest): Promise<DeletionCounts>;
}
