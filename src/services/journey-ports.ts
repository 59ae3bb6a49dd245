import type { JourneyConfig } from '../core/journey/journey.js';
import type { JourneyRows } from '../core/journey/journey-rows.js';
import type { JourneySettings } from '../core/journey/journey-settings.js';
import type { StageModel } from '../core/journey/stages.js';

/** What the journey service needs from storage. */

/** One event row for bulk derivation: only the parts the journey model reads. */
export interface JourneyScanRow {
  /** The person (index into the `persons` list given to scan). */
  person: number;
  seq: number;
  messageId: string;
  type: string;
  event: string | null;
  groupId: string | null;
  timestamp: number;
  /** JSON text of the parts of properties / traits / context the rules need. */
  properties: string | null;
  traits: string | null;
  context: string | null;
}

export interface JourneyStore {
  loadSettings(): Promise<{ workspaceId: string; settings: unknown }[]>;
  saveSettings(workspaceId: string, settings: unknown, at: number): Promise<void>;
  /**
   * Every event of a workspace, once per person it belongs to, in chunks ordered by person then
   * (time, seq). `personOf[identifierId]` is the person of each identifier (-1: none), so the
   * grouping is the identity graph's. `paths` lists the JSON paths to keep per part; the rest
   * is dropped in SQL.
   */
  scan(
    workspaceId: string,
    personOf: Int32Array,
    paths: JourneyPaths,
    onChunk: (rows: JourneyScanRow[]) => void | Promise<void>,
  ): Promise<void>;
}

export interface JourneyPaths {
  properties: string[];
  traits: string[];
  context: string[];
}

/** What the journey tables are derived from, for one workspace. */
export interface JourneyBuildInput {
  settings: JourneySettings;
  config: JourneyConfig;
  stageModel: StageModel;
}

export interface JourneyBuildCounts {
  persons: number;
  events: number;
  sessions: number;
  touchpoints: number;
  stageSpans: number;
  /** Account journeys written (their events, sessions and touchpoints are not in the counts above). */
  accounts: number;
  /**
   * `journeys`: everything; `stages`: only the stage histories (the stage model alone changed):
   * then `persons` and `accounts` count the histories folded, and nothing else was written.
   */
  scope: 'journeys' | 'stages';
}

export type JourneyBuildPhase = 'sessions and touchpoints' | 'stage history' | 'accounts';

/** Where the journey tables were built to, per workspace. */
export interface JourneyTablesState {
  workspaceId: string;
  settingsHash: string;
  builtSeq: number;
}

/**
 * The journey tables (sessions, touchpoints, steps, stage history): derived from the events,
 * the person map and a workspace's settings; rebuilt whole or for some persons.
 */
export interface JourneyTablesStore {
  /**
   * Rebuilds the workspace's rows (or only those of `persons`, and of the accounts they are
   * members of or that events after seq `after` name) in one transaction, and records `state`
   * with them.
   */
  rebuild(
    workspaceId: string,
    input: JourneyBuildInput,
    o: {
      persons?: readonly number[];
      /** Account keys to rebuild besides those of `persons`. */
      accounts?: readonly number[];
      after?: number;
      /** Only the stage histories, folded over the journey rows the tables hold. */
      stagesOnly?: boolean;
      state: Omit<JourneyTablesState, 'workspaceId'>;
      onPhase?: (p: JourneyBuildPhase) => void;
    },
  ): Promise<JourneyBuildCounts>;
  /**
   * Removes the rows of persons and accounts that no longer exist (merged into another, deleted), and writes
   * the inactivity transitions that came due after each person's last event, as of `now` (what a
   * journey read adds as of now), so lists by current stage agree with journeys. After a deletion
   * (`afterDeletion`), returns the persons and accounts whose rows hold events that are gone (they
   * shared them with the deleted person), to be derived again.
   */
  sweep(
    workspaceId: string,
    model: StageModel,
    now: number,
    o?: { afterDeletion?: boolean },
  ): Promise<{ persons: number[]; accounts: number[] }>;
  states(): Promise<JourneyTablesState[]>;
  /** Every workspace (one without events builds empty tables). */
  workspacesWithEvents(): Promise<string[]>;
  /** Person keys holding the workspace's events in (after, upTo]. */
  personsWithEventsIn(workspaceId: string, after: number, upTo: number): Promise<number[]>;
  /** A person's journey as the tables hold it; null when the tables have no journey for the key. */
  journeyRows(workspaceId: string, personKey: number): Promise<JourneyRows | null>;
  /** An account's journey as the tables hold it; null when they have none for the group id. */
  accountJourneyRows(workspaceId: string, groupId: string): Promise<JourneyRows | null>;
  /**
   * Persons whose identifiers changed since their journey rows were written (or who have no rows
   * yet, or rows and no identifiers any more): what identity changes lost in a crash leave behind.
   */
  staleIdentities(workspaceId: string): Promise<number[]>;
  /** Person keys now or formerly named by these person ids (current keys and retired aliases). */
  personKeysOf(workspaceId: string, personIds: readonly string[]): Promise<number[]>;
}
