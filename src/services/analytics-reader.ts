/**
 * Read-only SQL for analytics whose statements core writes (stages, retention): rows as plain
 * values (numbers as doubles, lists as arrays). Parameters a statement does not name are left out.
 */
export interface AnalyticsReader {
  rows(sql: string, params: Record<string, string | number>): Promise<unknown[][]>;
}
