import type { CandidateRow } from '../core/analytics/funnel-result.js';
import type { FunnelSql } from '../core/analytics/funnel-sql.js';
import type { Candidates, FunnelStore } from '../services/funnel-service.js';
import { DuckDBAnalyticsReader } from './duckdb-analytics-reader.js';

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

/** Funnel candidates streamed from DuckDB in chunks (core/analytics/funnel-sql.ts writes the SQL). */
export class DuckDBFunnelStore extends DuckDBAnalyticsReader implements FunnelStore {
  // Read whole (not streamed): a streamed result ends early when another query runs on the
  // shared reader connection meanwhile; a materialized one is one call on it. Columns, not rows:
  // one array per column converts several times faster.
  async candidates(q: FunnelSql): Promise<Candidates> {
    const result = await this.reader.runAndReadAll(q.sql, q.params);
    const [kind, actor, seq, ms, steps, exclusions, breakdown] = result.getColumnsJS() as unknown[][];
    const rows: CandidateRow[] = [];
    const onlyStep0 = {
      total: 0,
      open: 0,
      byValue: new Map<string, number>(),
      openByValue: new Map<string, number>(),
    };
    const n = kind?.length ?? 0;
    for (let i = 0; i < n; i++) {
      // 2: how many actors only did step 0; 1: of those, how many per breakdown value.
      // 2: how many actors only did step 0 (and how many of them are still within their window,
      // in `seq`); 1: the same per breakdown value.
      if (kind?.[i] === 2) {
        onlyStep0.total += num(actor?.[i]);
        onlyStep0.open += num(seq?.[i]);
        continue;
      }
      if (kind?.[i] === 1) {
        const value = breakdown?.[i] as string;
        onlyStep0.byValue.set(value, (onlyStep0.byValue.get(value) ?? 0) + num(actor?.[i]));
        onlyStep0.openByValue.set(value, (onlyStep0.openByValue.get(value) ?? 0) + num(seq?.[i]));
        continue;
      }
      rows.push({
        actor: num(actor?.[i]),
        seq: num(seq?.[i]),
        ms: num(ms?.[i]),
        steps: num(steps?.[i]),
        exclusions: num(exclusions?.[i]),
        breakdown: breakdown?.[i] as string | null,
      });
    }
    return { rows, onlyStep0 };
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
