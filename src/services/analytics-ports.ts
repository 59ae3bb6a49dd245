/**
 * What every analytics query (funnels, paths, stages, retention, KPIs) shares: it reads the
 * journey tables, and says how current they were when it ran.
 */

/** How current the journey tables were for a query; `current: false` answers from older rows. */
export interface TablesFreshness {
  /** Every acknowledged, loaded event (and every identity change) is in the tables. */
  current: boolean;
  /** The highest event seq the tables include. */
  builtSeq: number;
  /** The highest seq loaded and identity-resolved. */
  readyTo: number;
}

export interface AnalyticsTables {
  /** Catches the tables up when they lag a little (as a journey read does), then says how current they are. */
  freshen(workspaceId: string): Promise<TablesFreshness>;
}
