import type { DuckDBConnection } from '@duckdb/node-api';
import type { CandidateRow } from '../core/analytics/funnel-result.js';
import type { FunnelSql } from '../core/analytics/funnel-sql.js';
import type { FunnelStore } from '../services/funnel-service.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** Funnel candidates streamed from DuckDB in chunks (core/analytics/funnel-sql.ts writes the SQL). */
export class DuckDBFunnelStore implements FunnelStore {
  constructor(private readonly reader: DuckDBConnection) {}

  async candidates(q: FunnelSql, onRows: (rows: CandidateRow[]) => void): Promise<void> {
    const result = await this.reader.stream(q.sql, q.params);
    for await (const chunk of result.yieldRowsJs())
      onRows(
        chunk.map((r) => ({
          actor: num(r[0]),
          seq: num(r[1]),
          ms: num(r[2]),
          steps: num(r[3]),
          exclusions: num(r[4]),
          breakdown: r[5] as string | null,
        })),
      );
  }

  async accountIds(workspaceId: string, keys: readonly number[]): Promise<Map<number, string>> {
    if (keys.length === 0) return new Map();
    const rows = (
      await this.reader.runAndReadAll(
        `SELECT account_key, group_id FROM account_keys WHERE workspace_id = $ws AND account_key IN (${keys.map((k) => Math.trunc(k)).join(', ')})`,
        { ws: workspaceId },
      )
    ).getRowsJS();
    return new Map(rows.map((r) => [num(r[0]), r[1] as string]));
  }
}
