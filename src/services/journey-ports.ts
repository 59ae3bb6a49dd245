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
