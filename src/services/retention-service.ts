import type { QueryProblem } from '../core/analytics/analytics-query.js';
import { parseRetentionQuery } from '../core/analytics/retention-query.js';
import { type RetentionResult, retentionResult } from '../core/analytics/retention-result.js';
import { retentionNameTests, retentionSql } from '../core/analytics/retention-sql.js';
import { ok, type Result } from '../core/result.js';
import type { AnalyticsTables, TablesFreshness } from './analytics-ports.js';
import { type AnalyticsReader, readNameCodes } from './analytics-reader.js';
import type { Clock } from './ports.js';

/** Retention cohorts, churn by period and activation (`POST /api/analytics/retention`). */

export interface RetentionResponse extends RetentionResult {
  range: { from: string; to: string };
  freshness: TablesFreshness;
}

export class RetentionService {
  constructor(
    private readonly reader: AnalyticsReader,
    private readonly tables: AnalyticsTables,
    private readonly clock: Clock,
  ) {}

  async retention(workspaceId: string, body: unknown): Promise<Result<RetentionResponse, QueryProblem>> {
    const parsed = parseRetentionQuery(body, this.clock.now());
    if (!parsed.ok) return parsed;
    const q = parsed.value;
    const freshness = await this.tables.freshen(workspaceId);
    const names = q.includeBots
      ? undefined
      : await readNameCodes(this.reader, workspaceId, retentionNameTests(q));
    const sql = retentionSql(workspaceId, q, names);
    const rows = {
      cells: await this.reader.rows(sql.cells, sql.params),
      churn: await this.reader.rows(sql.churn, sql.params),
      activation: sql.activation === null ? null : await this.reader.rows(sql.activation, sql.params),
    };
    const iso = (ms: number | undefined) => new Date(ms ?? 0).toISOString();
    return ok({
      ...retentionResult(q, sql.bounds, rows),
      range: { from: iso(sql.bounds[0]), to: iso(sql.bounds[sql.bounds.length - 1]) },
      freshness,
    });
  }
}
