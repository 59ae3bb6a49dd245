import type { QueryProblem } from '../core/analytics/analytics-query.js';
import { parseStagesQuery } from '../core/analytics/stages-query.js';
import { type StagesResult, stagesResult } from '../core/analytics/stages-result.js';
import { STAGE_SECTIONS, type StageSection, stagesSql } from '../core/analytics/stages-sql.js';
import type { StageModel } from '../core/journey/stages.js';
import { ok, type Result } from '../core/result.js';
import type { AnalyticsTables, TablesFreshness } from './analytics-ports.js';
import type { AnalyticsReader } from './analytics-reader.js';
import type { Clock } from './ports.js';

/**
 * Stage analytics (`POST /api/analytics/stages`): transitions, conversion and time between
 * stages, time in stage, drop-off and velocity by entry cohort, from the stored stage histories
 * of persons or accounts (core/analytics/stages-sql.ts writes the SQL).
 */

export interface StageModels {
  rulesOf(workspaceId: string): { stageModel: StageModel };
}

export interface StagesResponse extends StagesResult {
  range: { from: string | null; to: string | null };
  freshness: TablesFreshness;
}

export class StagesService {
  constructor(
    private readonly reader: AnalyticsReader,
    private readonly tables: AnalyticsTables,
    private readonly models: StageModels,
    private readonly clock: Clock,
  ) {}

  async stages(workspaceId: string, body: unknown): Promise<Result<StagesResponse, QueryProblem>> {
    const parsed = parseStagesQuery(body);
    if (!parsed.ok) return parsed;
    const q = parsed.value;
    const freshness = await this.tables.freshen(workspaceId);
    const model = this.models.rulesOf(workspaceId).stageModel;
    const [row] = await this.reader.rows(stagesSql(workspaceId, q, model, this.clock.now()), {});
    // Each section is a list of row structs; a struct's values are in column order.
    const rows = Object.fromEntries(
      STAGE_SECTIONS.map((k, i) => [k, ((row?.[i] ?? []) as object[]).map((r) => Object.values(r))]),
    ) as Record<StageSection, unknown[][]>;
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return ok({
      ...stagesResult(q.subject, model.stages, rows),
      range: { from: iso(q.fromMs), to: iso(q.toMs) },
      freshness,
    });
  }
}
