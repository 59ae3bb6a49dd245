import type { LinkRule } from '../core/identity/link.js';
import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/**
 * What identity needs from storage, as two ports (store/duckdb-identity-store.ts implements both):
 *
 * - `IdentityLogStore`, the resolver's: the link log, operations, settings, suppressions, and the
 *   writes of everything resolution derives (identifier rows, each event's identifier, the person
 *   model), each batch in one transaction with the pipeline's position;
 * - `PersonReadModel`, the readers': the person model (who holds which identifier, activity,
 *   traits, lists), timelines, exports and the deletion of a person's data.
 */

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

// ── the person model ─────────────────────────────────────────────────────────
//
// Facts per identifier (what its events add up to, the newest value of each trait it sent) only
// ever grow with new events, whatever the persons are. Persons are keyed by their anchor
// identifier's id (the identifier their `p_…` id is named after): `person_map` says which key
// holds each identifier, and the per-person rows are re-derived from the facts of their members
// whenever a person gains or loses an identifier, or its identifiers see new events.

/** What one identifier's events add up to (the events filed under it). */
export interface IdentifierActivityRow {
  identifierId: number;
  workspaceId: string;
  firstSeen: number;
  lastSeen: number;
  events: number;
  revenue: number;
}

/**
 * The newest value of one trait an identifier sent: with identify calls (`groupId` null: the
 * person's traits), or with group calls for an account. `value` is JSON text.
 */
export interface TraitFactRow {
  identifierId: number;
  workspaceId: string;
  groupId: string | null;
  key: string;
  value: string;
  at: number;
  messageId: string;
}

/** An identify or group call's traits, as the one-time back-fill of trait facts reads them. */
export interface TraitEventRow {
  identifierId: number;
  workspaceId: string;
  groupId: string | null;
  traits: string | null;
  at: number;
  messageId: string;
}

/** Which person holds an identifier now. */
export interface PersonMapRow {
  identifierId: number;
  workspaceId: string;
  personKey: number;
  /** The person id (`p_…`) this identifier names, when it is not its person's key: an alias. */
  aliasId: string | null;
}

/** A person whose row is re-derived: its key, id, and what the graph knows of its identifiers. */
export interface PersonRow {
  personKey: number;
  workspaceId: string;
  personId: string;
  identifiers: number;
  /** Lower-cased `type:value` of every identifier, one a line; the traits' text is added to it. */
  search: string;
}

/** What a batch's events add to a person whose identifiers did not change. */
export interface PersonActivityDelta {
  personKey: number;
  firstSeen: number;
  lastSeen: number;
  events: number;
  revenue: number;
}

/** What changed in the person model with a batch. */
export interface PersonModelChanges {
  /** Identifiers whose person changed (or that are new). */
  map: PersonMapRow[];
  /** Persons whose identifiers or traits changed: their rows and traits are re-derived. */
  persons: PersonRow[];
  /** Other persons whose identifiers saw events: their activity is updated in place. */
  activity: PersonActivityDelta[];
  /** Keys that no longer name a person (merged into another, or deleted). */
  retired: number[];
}

/** Written in one transaction, so `processedSeq` always matches what the tables hold. */
export interface IdentityBatch {
  identifiers: IdentifierRow[];
  links: LinkRow[];
  events: EventIdentityRow[];
  /** Operations: an operator's, or the graph's own (`region_too_large`). */
  ops: IdentityOpRow[];
  /** The pipeline's position; null when the batch holds only operations or person changes. */
  processedSeq: number | null;
  activity: IdentifierActivityRow[];
  traits: TraitFactRow[];
  /** New account memberships (an identifier's group call). */
  memberships: Membership[];
  persons: PersonModelChanges;
}

/** The stored person model, to tell at start whether it matches the graph. */
export interface PersonModelState {
  /** The model version that built it (0: never built). */
  version: number;
  mapRows: number;
  /** Σ over person_map of mix(identifier, key) mod 2^48 (see `personMapChecksum`). */
  checksum: number;
}

/** A rewrite of the person model from scratch (start-up, when it is missing or stale). */
export interface PersonModelRebuild {
  version: number;
  /**
   * Every trait fact, folded from the stored identify and group calls: the facts are rebuilt
   * (activity and memberships from `event_identity`) when given, kept when null.
   */
  traits: TraitFactRow[] | null;
  map: PersonMapRow[];
  persons: PersonRow[];
}

/** A checksum of an identifier → person key map, the same in SQL and here. */
export const personMapChecksum = (pairs: Iterable<[number, number]>): number => {
  let sum = 0;
  for (const [id, key] of pairs) sum = (sum + mapMix(id, key)) % 2 ** 48;
  return sum;
};
export const mapMix = (id: number, key: number): number =>
  ((Math.imul(id, 2654435761) >>> 0) ^ (Math.imul(key, 2246822519) >>> 0)) >>> 0;

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

/** A current trait: the newest value by event time. `value` is JSON text. */
export interface TraitValue {
  key: string;
  value: string;
  at: number;
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

// ── lists ────────────────────────────────────────────────────────────────────

export type ListSort = 'lastSeen' | 'firstSeen';

/** Where the previous page ended: its last row's sort value (epoch ms, or null) and key. */
export interface ListAfter<K> {
  value: number | null;
  key: K;
}

export interface ListQuery<K> {
  workspaceId: string;
  limit: number;
  /** Only the total that match (no rows): what a count next to a link needs. */
  countOnly?: boolean;
  sort: ListSort;
  order: 'asc' | 'desc';
  after?: ListAfter<K>;
  /** Current trait equals: `value` is matched as a JSON string and as JSON text (`5`, `true`). */
  traits: { key: string; value: string }[];
  /** Lower-cased text the row must contain (identifiers and traits; for accounts the id and traits). */
  text?: string;
  /** Last activity in [seenFrom, seenTo), epoch ms. */
  seenFrom?: number;
  seenTo?: number;
  /**
   * Current stage (the subject's last `stage_history` row) is one of these ids; `null` stands
   * for no stage (no row). Absent: any.
   */
  stages?: (string | null)[];
  /**
   * A journey touchpoint of one of these channels (case-insensitive; for an account, any member
   * person's). Absent: any channel, and no touchpoint needed unless a touched range is given.
   */
  channels?: string[];
  /** That touchpoint at or after / before this time, epoch ms (either alone is a half-open range). */
  touchedFrom?: number;
  touchedTo?: number;
}

export interface PersonListQuery extends ListQuery<number> {
  /** A person key that matches `text` whatever its search text (an exact `type:value`). */
  orKey?: number;
}

/** A current lifecycle stage: its id and name as `stage_history` recorded them. */
export interface StageRef {
  id: string;
  name: string;
}

export interface ListPage<R> {
  rows: R[];
  total: number;
}

export interface PersonListRow {
  personKey: number;
  personId: string;
  firstSeen: number | null;
  lastSeen: number | null;
  events: number;
  revenue: number;
  traits: TraitValue[];
  stage: StageRef | null;
}

export interface AccountListRow {
  groupId: string;
  /** Persons among its members. */
  members: number;
  firstSeen: number | null;
  lastSeen: number | null;
  events: number;
  revenue: number;
  traits: TraitValue[];
  stage: StageRef | null;
}

/** The resolver's port: what the graph loads from, and where the pipeline writes what it derived. */
export interface IdentityLogStore {
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
  /** One transaction: rows, operations, person model changes, position. */
  append(batch: IdentityBatch): Promise<void>;
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
  personModelState(): Promise<PersonModelState>;
  /** Every stored identify and group call that has an identifier, in chunks (the back-fill). */
  traitEvents(onChunk: (rows: TraitEventRow[]) => void): Promise<void>;
  /** Replaces the person model, in one transaction. */
  rebuildPersonModel(rebuild: PersonModelRebuild): Promise<void>;
}

/** The readers' port: the person model in the database, timelines, export and deletion. */
export interface PersonReadModel {
  timeline(q: TimelineQuery): Promise<StoredEvent[]>;
  activity(identifierIds: number[]): Promise<ActivityStats>;
  /** A person's current traits (`person_traits`). */
  personTraits(personKey: number): Promise<TraitValue[]>;
  /** An account's current traits (`account_traits`). */
  accountTraits(workspaceId: string, groupId: string): Promise<TraitValue[]>;
  listPersons(q: PersonListQuery): Promise<ListPage<PersonListRow>>;
  listAccounts(q: ListQuery<string>): Promise<ListPage<AccountListRow>>;
  /** Every stored row about these identifiers: the data-subject export. */
  exportEvents(identifierIds: number[]): Promise<StoredEvent[]>;
  quarantineMentioning(workspaceId: string, values: string[]): Promise<QuarantinedMessage[]>;
  /** Deletes the person's events, identifiers, links, quarantined payloads and person model rows. */
  deletePerson(req: DeletionRequest): Promise<DeletionCounts>;
}

/** Both ports, as one database implements them. */
export type IdentityStore = IdentityLogStore & PersonReadModel;
