import { NameCodes, nameCodesSql } from '../core/analytics/name-codes.js';

/**
 * Read-only SQL for analytics whose statements core writes (stages, retention): rows as plain
 * values (numbers as doubles, lists as arrays). Parameters a statement does not name are left out.
 */
export interface AnalyticsReader {
  rows(sql: string, params: Record<string, string | number>): Promise<unknown[][]>;
}

/** The codes of a workspace's (type, event) pairs each name test holds for (core/analytics/name-codes.ts). */
export async function readNameCodes(
  reader: AnalyticsReader,
  workspaceId: string,
  tests: readonly string[],
): Promise<NameCodes> {
  if (tests.length === 0) return NameCodes.fromRows(tests, []);
  const rows = await reader.rows(nameCodesSql(workspaceId, tests), {});
  return NameCodes.fromRows(
    tests,
    rows.map(([code, hits]) => [Number(code), hits as boolean[]]),
  );
}
