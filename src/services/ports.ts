import type { MessageType, QuarantinedMessage, StoredEvent } from '../core/spec/message.js';

/** Interfaces the services need from the outside world; adapters in store/ and main.ts implement them. */

export interface Clock {
  now(): number;
  /** Resolves after `ms` milliseconds; with 0, after the event loop's pending I/O has run. */
  sleep(ms: number): Promise<void>;
}

export interface CommitBatch {
  events: StoredEvent[];
  quarantine: QuarantinedMessage[];
}

export interface EventCursor {
  timestamp: number;
  seq: number;
}

export interface EventQuery {
  workspaceId: string;
  type?: MessageType;
  event?: string;
  userId?: string;
  anonymousId?: string;
  /** Inclusive lower bound on event time, epoch ms. */
  from?: number;
  /** Exclusive upper bound on event time, epoch ms. */
  to?: number;
  /** Continue after this (newest-first) position. */
  after?: EventCursor;
  limit: number;
}

export interface QuarantineQuery {
  workspaceId: string;
  code?: string;
  limit: number;
}

export interface EventStore {
  /** Appends all rows in one transaction; resolves only once they are durable. */
  commit(batch: CommitBatch): Promise<void>;
  /** Releases write resources after the last commit. */
  close(): Promise<void>;
  maxSeq(): Promise<number>;
  /**
   * Streams (workspace, messageId, fingerprint) of events received since `sinceMs` (of one
   * workspace, when given), for deduplication.
   */
  loadFingerprints(
    sinceMs: number,
    onRow: (workspaceId: string, messageId: string, fingerprint: string) => void,
    workspaceId?: string,
  ): Promise<number>;
  listEvents(query: EventQuery): Promise<StoredEvent[]>;
  listQuarantine(query: QuarantineQuery): Promise<QuarantinedMessage[]>;
}

export type KeyKind = 'write' | 'admin';

export interface Workspace {
  id: string;
  name: string;
  createdAt: number;
}

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  kind: KeyKind;
  /** Plain text for write keys only: they are public. Admin keys are kept as a hash alone. */
  secret: string | null;
  secretHash: string;
  /** The first characters, so a person can recognise a key in a listing. */
  hint: string;
  label: string | null;
  createdAt: number;
  revokedAt: number | null;
}

export interface WorkspaceStore {
  listWorkspaces(): Promise<Workspace[]>;
  createWorkspace(workspace: Workspace, keys: ApiKeyRecord[]): Promise<void>;
  listKeys(workspaceId?: string): Promise<ApiKeyRecord[]>;
  insertKey(key: ApiKeyRecord): Promise<void>;
  /** Returns false when no active key has that id. */
  revokeKey(workspaceId: string | undefined, keyId: string, at: number): Promise<boolean>;
}
