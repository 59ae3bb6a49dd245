import type { DuckDBConnection } from '@duckdb/node-api';
import type { PathMapRow, PathQuery, PathSelection } from '../core/analytics/paths.js';
import { pathMapSql, pathPeopleSql } from '../core/analytics/paths-sql.js';
import type { PathSubjectRow, PathsStore } from '../services/paths-service.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : ((v as number | null) ?? 0));

/** Journey maps over the journey tables and event facts, one SQL statement each (paths-sql.ts). */
export class DuckDBPathsStore implements PathsStore {
  constructor(private readonly reader: DuckDBConnection) {}

  async map(workspaceId: string, q: PathQuery): Promise<PathMapRow[]> {
    const rows = (await this.reader.runAndReadAll(pathMapSql(workspaceId, q))).getRowsJS();
    return rows.map(([kind, position, prevItem, item, value, dropped, avgMs]) => ({
      kind: kind as 'n' | 'e',
      position: num(position),
      prevItem: (prevItem as string | null) ?? null,
      item: item as string,
      value: num(value),
      dropped: num(dropped),
      avgMs: avgMs === null ? null : num(avgMs),
    }));
  }

  async subjects(
    workspaceId: string,
    q: PathQuery,
    selection: PathSelection,
    limit: number,
    after?: number,
  ): Promise<{ rows: PathSubjectRow[]; total: number }> {
    const rows = (
      await this.reader.runAndReadAll(pathPeopleSql(workspaceId, q, selection, limit, after))
    ).getRowsJS();
    return {
      rows: rows.map(([key, groupId]) => ({ key: num(key), groupId: (groupId as string | null) ?? null })),
      total: rows.length ? num(rows[0]![2]) : 0,
    };
  }
}
